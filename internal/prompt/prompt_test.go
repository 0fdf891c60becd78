package prompt

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestPipedAnswers(t *testing.T) {
	var out bytes.Buffer
	r := NewFromReader(strings.NewReader("secret\r\nsecret\nyes\nother\n"), &out)
	pw, err := r.NewPassword("Enter: ", "Again: ")
	if err != nil || pw != "secret" {
		t.Fatalf("NewPassword = %q, %v", pw, err)
	}
	if got := out.String(); got != "Enter: \nAgain: \n" {
		t.Errorf("prompts written %q", got)
	}
	if ans, err := r.Line("? "); err != nil || ans != "yes" {
		t.Errorf("Line = %q, %v", ans, err)
	}
	if ans, err := r.Line("? "); err != nil || ans != "other" {
		t.Errorf("last line = %q, %v", ans, err)
	}
	if _, err := r.Line("? "); err == nil {
		t.Error("reading past the end did not fail")
	}
}

func TestMismatch(t *testing.T) {
	r := NewFromReader(strings.NewReader("a\nb\n"), &bytes.Buffer{})
	if _, err := r.NewPassword("1", "2"); !errors.Is(err, ErrMismatch) {
		t.Errorf("NewPassword = %v, want ErrMismatch", err)
	}
}

func TestLastLineWithoutNewline(t *testing.T) {
	r := NewFromReader(strings.NewReader("yes"), &bytes.Buffer{})
	if ans, err := r.Line("? "); err != nil || ans != "yes" {
		t.Errorf("Line = %q, %v", ans, err)
	}
}
