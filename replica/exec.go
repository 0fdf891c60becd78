package replica

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"
)

// Exit statuses of an executable plugin (PROTOCOL.md), from sysexits.h.
const (
	ExitCantProcess   = 75 // EX_TEMPFAIL
	ExitRequestReinit = 76 // EX_PROTOCOL
)

// defaultPath is the PATH a plugin gets when kpropd has none (systemd's
// default for services).
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// stderrLimit is how much of a failing plugin's standard error is kept
// for the log and kdb5util replica info.
const stderrLimit = 4096

// execPlugin runs an executable plugin, one process per call.
type execPlugin struct {
	path    string
	dir     string // the plugin's working directory
	env     []string
	timeout time.Duration
}

func newExecPlugin(c Config) *execPlugin {
	return &execPlugin{path: c.Plugin, dir: filepath.Join(c.StateDir, "plugin"), env: c.Env, timeout: c.Timeout}
}

func (e *execPlugin) AuthInit(ctx context.Context, id Identity) error {
	return e.run(ctx, "auth-init", id, nil)
}

func (e *execPlugin) InitReinit(ctx context.Context, id Identity) error {
	return e.run(ctx, "init-reinit", id, nil)
}

func (e *execPlugin) Stop(ctx context.Context, id Identity) error {
	return e.run(ctx, "stop", id, nil)
}

func (e *execPlugin) Destroy(ctx context.Context, id Identity) error {
	return e.run(ctx, "destroy", id, nil)
}

func (e *execPlugin) Apply(ctx context.Context, d *Delivery) error {
	return e.run(ctx, "apply", Identity{Name: d.Replica, UUID: d.UUID, Realm: d.Realm}, d)
}

// run starts the plugin with op and, for apply, writes the delivery to
// its standard input. The plugin runs in its own process group, which is
// killed when the timeout passes, so a hung plugin's children go too.
func (e *execPlugin) run(ctx context.Context, op string, id Identity, d *Delivery) error {
	if err := os.MkdirAll(e.dir, 0o700); err != nil {
		return fmt.Errorf("%s %s: %w", e.path, op, err)
	}
	ctx, cancel := context.WithTimeout(ctx, e.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, e.path, op)
	cmd.Dir = e.dir
	path := os.Getenv("PATH")
	if path == "" {
		// inetd and systemd-socket-activate may pass no PATH; a plugin
		// still needs one for the tools it runs.
		path = defaultPath
	}
	cmd.Env = append([]string{
		"PATH=" + path,
		"KRB5PROP_REPLICA=" + id.Name,
		"KRB5PROP_REPLICA_UUID=" + id.UUID,
		"KRB5PROP_REALM=" + id.Realm,
		"KRB5PROP_OPERATION=" + op,
	}, e.env...)
	// Pdeathsig: a plugin must not outlive a kpropd killed under it; the
	// restarted kpropd delivers again.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	// A grandchild holding the pipes open must not keep Wait waiting.
	cmd.WaitDelay = 5 * time.Second
	var stderr limitedBuffer
	cmd.Stderr = &stderr
	var feedErr error
	var wg sync.WaitGroup
	if d != nil {
		in, err := cmd.StdinPipe()
		if err != nil {
			return err
		}
		if err := cmd.Start(); err != nil {
			return fmt.Errorf("start %s: %w", e.path, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			feedErr = writeDelivery(in, d)
			in.Close()
		}()
	} else if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", e.path, err)
	}
	err := cmd.Wait()
	wg.Wait()
	switch ctx.Err() {
	case context.DeadlineExceeded:
		return fmt.Errorf("%w: %s %s ran past its timeout (%s) and was killed", ErrCantProcess, e.path, op, e.timeout)
	case context.Canceled:
		// The next delivery carries the changes again; say why this one
		// stopped rather than "killed by signal", which reads as a crash.
		return fmt.Errorf("%w: %s %s was killed: shutting down", ErrCantProcess, e.path, op)
	}
	if errors.Is(feedErr, errIncomplete) {
		// The plugin's answer is about a delivery it did not get whole.
		return fmt.Errorf("%w: %w", ErrCantProcess, feedErr)
	}
	return exitOutcome(e.path, op, err, stderr.String())
}

// exitOutcome maps a plugin's exit to an outcome (PROTOCOL.md).
func exitOutcome(path, op string, err error, stderr string) error {
	if err == nil {
		return nil
	}
	what := fmt.Sprintf("%s %s", path, op)
	if stderr != "" {
		what += ": " + stderr
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return fmt.Errorf("%w: %s: %w", ErrCantProcess, what, err)
	}
	switch code := ee.ExitCode(); code {
	case ExitRequestReinit:
		return fmt.Errorf("%w: %s", ErrRequestReinit, what)
	case ExitCantProcess:
		return fmt.Errorf("%w: %s", ErrCantProcess, what)
	case -1:
		return fmt.Errorf("%w: %s: killed by %v", ErrCantProcess, what, ee.ProcessState)
	default:
		return fmt.Errorf("%w: %s: exit status %d", ErrCantProcess, what, code)
	}
}

// errIncomplete marks a delivery whose changes could not all be read.
var errIncomplete = errors.New("delivery cut short")

// writeDelivery writes the delivery as JSON lines: the header, each
// change, the end line. A plugin that stops reading is not an error here
// (its exit status decides); failing to read the database is.
func writeDelivery(out io.Writer, d *Delivery) error {
	w := bufio.NewWriterSize(out, 1<<16)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	if enc.Encode(struct {
		Type string `json:"type"`
		*Header
	}{"header", &d.Header}) != nil {
		return nil
	}
	n := 0
	for c := range d.Changes {
		if enc.Encode(struct {
			Type string `json:"type"`
			*Change
		}{"change", c}) != nil {
			return nil
		}
		n++
	}
	if err := d.Err(); err != nil {
		return fmt.Errorf("%w: %w", errIncomplete, err)
	}
	enc.Encode(struct {
		Type    string `json:"type"`
		Changes int    `json:"changes"`
	}{"end", n})
	w.Flush()
	return nil
}

// limitedBuffer keeps the first stderrLimit bytes written to it and
// swallows the rest, so a chatty plugin cannot fill memory or block.
type limitedBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if room := stderrLimit - len(b.buf); room > 0 {
		b.buf = append(b.buf, p[:min(room, len(p))]...)
	}
	return len(p), nil
}

// String returns what was kept, on one line of printable text, so that
// a plugin's garbage cannot forge log lines or break kdb5util's output.
func (b *limitedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out strings.Builder
	for s := strings.TrimSpace(string(b.buf)); s != ""; {
		r, n := utf8.DecodeRuneInString(s)
		switch {
		case r == '\n' || r == '\t':
			out.WriteByte(' ')
		case r == utf8.RuneError || !unicode.IsPrint(r):
			out.WriteByte('?')
		default:
			out.WriteString(s[:n])
		}
		s = s[n:]
	}
	return out.String()
}
