package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"log/syslog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/krb5prop/krb5prop/internal/daemon"
	"github.com/krb5prop/krb5prop/profile"
)

// facilities maps [logging] facility names to syslog's.
var facilities = map[string]syslog.Priority{
	"AUTH": syslog.LOG_AUTH, "AUTHPRIV": syslog.LOG_AUTHPRIV, "KERN": syslog.LOG_KERN,
	"USER": syslog.LOG_USER, "MAIL": syslog.LOG_MAIL, "DAEMON": syslog.LOG_DAEMON,
	"FTP": syslog.LOG_FTP, "LPR": syslog.LOG_LPR, "NEWS": syslog.LOG_NEWS,
	"UUCP": syslog.LOG_UUCP, "CRON": syslog.LOG_CRON,
	"LOCAL0": syslog.LOG_LOCAL0, "LOCAL1": syslog.LOG_LOCAL1, "LOCAL2": syslog.LOG_LOCAL2,
	"LOCAL3": syslog.LOG_LOCAL3, "LOCAL4": syslog.LOG_LOCAL4, "LOCAL5": syslog.LOG_LOCAL5,
	"LOCAL6": syslog.LOG_LOCAL6, "LOCAL7": syslog.LOG_LOCAL7,
}

// logSinks are the open [logging] kdc targets; Reopen reopens the files
// (SIGHUP, after logrotate), as krb5_klog_reopen does.
type logSinks struct {
	files []*logFile
	close []io.Closer
}

// newLogger opens krb5kdc's [logging] targets (kdc, else default, else
// syslog) and returns the logger writing to all of them.
func newLogger(ident string, l profile.Logging) (*slog.Logger, *logSinks, error) {
	s := &logSinks{}
	var hs []slog.Handler
	min := slog.LevelInfo
	if l.Debug {
		min = slog.LevelDebug
	}
	host, _ := os.Hostname()
	prefix := fmt.Sprintf(" %s %s[%d]", host, ident, os.Getpid())
	for _, t := range l.Targets {
		switch t.Kind {
		case profile.LogFile, profile.LogDevice:
			f := &logFile{path: t.Path, append: t.Append || t.Kind == profile.LogDevice}
			if err := f.open(); err != nil {
				s.Close()
				return nil, nil, fmt.Errorf("Couldn't open log file %s: %w", t.Path, err)
			}
			s.files = append(s.files, f)
			s.close = append(s.close, f)
			hs = append(hs, &lineHandler{w: f, min: min, prefix: prefix})
		case profile.LogStderr:
			hs = append(hs, &lineHandler{w: os.Stderr, min: min, prefix: prefix})
		case profile.LogConsole:
			f := &logFile{path: "/dev/console", append: true}
			if err := f.open(); err == nil {
				s.files = append(s.files, f)
				s.close = append(s.close, f)
				hs = append(hs, &lineHandler{w: f, min: min, prefix: prefix})
			}
		case profile.LogSyslog:
			fac, ok := facilities[t.Facility]
			if !ok {
				fac = syslog.LOG_AUTH
			}
			w, err := syslog.New(fac|syslog.LOG_INFO, ident)
			if err != nil {
				// No syslog daemon (a container): say so on stderr rather
				// than drop every line silently, as daemon.NewLogger does.
				fmt.Fprintf(os.Stderr, "%s: no syslog (%v); logging to standard error\n", ident, err)
				hs = append(hs, &lineHandler{w: os.Stderr, min: min, prefix: prefix})
				continue
			}
			s.close = append(s.close, w)
			hs = append(hs, daemon.NewSyslogHandler(w, slog.LevelInfo))
		}
	}
	return slog.New(slog.NewMultiHandler(hs...)), s, nil
}

// Reopen reopens every log file.
func (s *logSinks) Reopen() error {
	var errs []error
	for _, f := range s.files {
		errs = append(errs, f.reopen())
	}
	return errors.Join(errs...)
}

// Close closes every target.
func (s *logSinks) Close() {
	for _, c := range s.close {
		c.Close()
	}
}

// logFile is a log file that can be reopened under its writers.
type logFile struct {
	path   string
	append bool
	mu     sync.Mutex
	f      *os.File
}

// logFileMode is the mode of a log file krb5kdc creates: the lines name
// every client and service, so others may not read them (MIT's files are
// created 0640 too).
const logFileMode = 0o640

func (f *logFile) open() error {
	flags := os.O_WRONLY | os.O_CREATE | os.O_APPEND
	if !f.append {
		flags |= os.O_TRUNC
	}
	h, err := os.OpenFile(f.path, flags, logFileMode)
	if err != nil {
		return err
	}
	f.f = h
	return nil
}

// reopen appends to the file at path again (a rotated file is not
// truncated on reopen, as MIT's FILE= is only truncated at startup).
func (f *logFile) reopen() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	h, err := os.OpenFile(f.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, logFileMode)
	if err != nil {
		return err
	}
	f.f.Close()
	f.f = h
	return nil
}

func (f *logFile) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.f.Write(p)
}

func (f *logFile) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.f.Close()
}

// levelNames are the severities MIT's file logs show in parentheses.
func levelName(l slog.Level) string {
	switch {
	case l >= slog.LevelError:
		return "Error"
	case l >= slog.LevelWarn:
		return "Warning"
	case l >= slog.LevelInfo:
		return "info"
	}
	return "debug"
}

// lineHandler writes records as MIT's file logs do:
// "Mon DD HH:MM:SS host krb5kdc[pid](info): message".
type lineHandler struct {
	w      io.Writer
	min    slog.Level
	prefix string
	attrs  []slog.Attr
}

func (h *lineHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.min }

func (h *lineHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	t := r.Time
	if t.IsZero() {
		t = time.Now()
	}
	b.WriteString(t.Format(time.Stamp))
	b.WriteString(h.prefix)
	fmt.Fprintf(&b, "(%s): ", levelName(r.Level))
	daemon.WriteRecord(&b, r, h.attrs)
	b.WriteByte('\n')
	_, err := io.WriteString(h.w, b.String())
	return err
}

func (h *lineHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr(nil), h.attrs...), attrs...)
	return &c
}

func (h *lineHandler) WithGroup(string) slog.Handler { return h }
