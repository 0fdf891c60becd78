package daemon

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"log/syslog"
	"strings"
)

// NewLogger returns the daemon's logger: to standard error when debugging
// (MIT's -d), else to syslog with the program's name as ident and the
// daemon facility, as MIT's daemons log. Without a syslog daemon (a
// container, a minimal system) it logs to standard error instead of
// failing: MIT's syslog calls drop the lines silently there, which hides
// every error.
func NewLogger(ident string, stderr io.Writer, debug bool) *slog.Logger {
	if debug {
		return slog.New(&lineHandler{w: stderr, min: slog.LevelDebug})
	}
	w, err := syslog.New(syslog.LOG_DAEMON|syslog.LOG_INFO, ident)
	if err != nil {
		fmt.Fprintf(stderr, "%s: no syslog (%v); logging to standard error\n", ident, err)
		return slog.New(&lineHandler{w: stderr, min: slog.LevelInfo})
	}
	return slog.New(NewSyslogHandler(w, slog.LevelDebug))
}

// NewSyslogHandler returns a handler that writes each record at or above
// min as one syslog line on w, at the matching priority.
func NewSyslogHandler(w *syslog.Writer, min slog.Level) slog.Handler {
	return &syslogHandler{w: w, min: min}
}

// syslogHandler writes each record as one syslog line at the matching
// priority: the message, then any attributes as key=value.
type syslogHandler struct {
	w     *syslog.Writer
	min   slog.Level
	attrs []slog.Attr
}

func (h *syslogHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.min }

func (h *syslogHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	WriteRecord(&b, r, h.attrs)
	msg := b.String()
	switch {
	case r.Level >= slog.LevelError:
		return h.w.Err(msg)
	case r.Level >= slog.LevelWarn:
		return h.w.Warning(msg)
	case r.Level >= slog.LevelInfo:
		return h.w.Info(msg)
	}
	return h.w.Debug(msg)
}

func (h *syslogHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &syslogHandler{w: h.w, min: h.min, attrs: append(append([]slog.Attr(nil), h.attrs...), attrs...)}
}

// WriteRecord writes r's message to b, then the handler's attrs and r's
// own attributes as " key=value": the one line every log here shows.
func WriteRecord(b *strings.Builder, r slog.Record, attrs []slog.Attr) {
	b.WriteString(r.Message)
	add := func(a slog.Attr) bool {
		fmt.Fprintf(b, " %s=%v", a.Key, a.Value)
		return true
	}
	for _, a := range attrs {
		add(a)
	}
	r.Attrs(add)
}

func (h *syslogHandler) WithGroup(string) slog.Handler { return h }

// lineHandler writes each record's message on a line of its own, as MIT's
// daemons write to stderr in debug mode; attributes follow as key=value.
type lineHandler struct {
	w     io.Writer
	min   slog.Level
	attrs []slog.Attr
}

func (h *lineHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= h.min }

func (h *lineHandler) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	WriteRecord(&b, r, h.attrs)
	b.WriteByte('\n')
	_, err := io.WriteString(h.w, b.String())
	return err
}

func (h *lineHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &lineHandler{w: h.w, min: h.min, attrs: append(append([]slog.Attr(nil), h.attrs...), attrs...)}
}

func (h *lineHandler) WithGroup(string) slog.Handler { return h }
