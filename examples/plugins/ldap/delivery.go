package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// protocolVersion is the delivery format this plugin reads.
const protocolVersion = 1

// header is a delivery's first line.
type header struct {
	Version int    `json:"version"`
	Seq     uint64 `json:"seq"`
	PrevSeq uint64 `json:"prev_seq"`
	Reinit  bool   `json:"reinit"`
}

// change is one change line.
type change struct {
	Op        string     `json:"op"`
	Name      string     `json:"name"`
	Principal *principal `json:"principal"`
	Policy    *policy    `json:"policy"`
}

// principal holds the fields of a principal record the directory gets.
// Keys are described by their enctype only: the key material in a
// delivery with include_keys has no field here, so it is never decoded.
type principal struct {
	Name             string   `json:"name"`
	Flags            []string `json:"flags"`
	MaxLife          int64    `json:"max_life"`
	MaxRenewableLife int64    `json:"max_renewable_life"`
	Expiration       *string  `json:"expiration"`
	PwExpiration     *string  `json:"pw_expiration"`
	Policy           *string  `json:"policy"`
	LastPwdChange    *string  `json:"last_pwd_change"`
	ModTime          *string  `json:"mod_time"`
	ModPrinc         *string  `json:"mod_princ"`
	Kvno             int64    `json:"kvno"`
	Keys             []struct {
		Kvno    int64  `json:"kvno"`
		Enctype string `json:"enctype"`
	} `json:"keys"`
}

// policy is a policy record.
type policy struct {
	Name              string  `json:"name"`
	PwMinLife         int64   `json:"pw_min_life"`
	PwMaxLife         int64   `json:"pw_max_life"`
	PwMinLength       int64   `json:"pw_min_length"`
	PwMinClasses      int64   `json:"pw_min_classes"`
	PwHistoryNum      int64   `json:"pw_history_num"`
	PwMaxFail         int64   `json:"pw_max_fail"`
	PwFailcntInterval int64   `json:"pw_failcnt_interval"`
	PwLockoutDuration int64   `json:"pw_lockout_duration"`
	Attributes        int64   `json:"attributes"`
	MaxLife           int64   `json:"max_life"`
	MaxRenewableLife  int64   `json:"max_renewable_life"`
	AllowedKeysalts   *string `json:"allowed_keysalts"`
}

// deliveryReader reads a delivery line by line: the header, then changes
// until the end line, whose count it checks.
type deliveryReader struct {
	dec     *json.Decoder
	changes int // change lines read so far
}

// line is any delivery line; type says which fields matter.
type line struct {
	Type    string `json:"type"`
	Changes *int   `json:"changes"` // end
	header
	change
}

// newDeliveryReader reads a delivery from r, the plugin's stdin.
func newDeliveryReader(r io.Reader) *deliveryReader {
	return &deliveryReader{dec: json.NewDecoder(r)}
}

// readHeader reads the first line, which must be a version 1 header.
func (d *deliveryReader) readHeader() (header, error) {
	l, err := d.next()
	if err != nil {
		return header{}, fmt.Errorf("delivery header: %w", err)
	}
	if l.Type != "header" {
		return header{}, fmt.Errorf("delivery starts with a %q line, want a header", l.Type)
	}
	if l.Version != protocolVersion {
		return header{}, fmt.Errorf("delivery version %d; this plugin reads version %d", l.Version, protocolVersion)
	}
	return l.header, nil
}

// readChange returns the next change, or ok false after the end line, once
// it has checked the count. A delivery that stops before its end line was
// cut short, and is an error.
func (d *deliveryReader) readChange() (c change, ok bool, err error) {
	l, err := d.next()
	if errors.Is(err, io.EOF) {
		return change{}, false, fmt.Errorf("delivery cut short after %d changes: no end line", d.changes)
	}
	if err != nil {
		return change{}, false, fmt.Errorf("delivery line %d: %w", d.changes+2, err)
	}
	switch l.Type {
	case "change":
		d.changes++
		return l.change, true, nil
	case "end":
		if l.Changes == nil || *l.Changes != d.changes {
			return change{}, false, fmt.Errorf("delivery end line counts %v changes, but %d came", countOf(l.Changes), d.changes)
		}
		// Nothing may follow the end line: a delivery is one document.
		if _, err := d.next(); !errors.Is(err, io.EOF) {
			return change{}, false, errors.New("delivery continues after its end line")
		}
		return change{}, false, nil
	}
	return change{}, false, fmt.Errorf("delivery line %d has type %q, want change or end", d.changes+2, l.Type)
}

// countOf renders an end line's count for a message.
func countOf(n *int) any {
	if n == nil {
		return "no"
	}
	return *n
}

// next decodes one line. The decoder's errors give offsets, never the
// text, so a key in a malformed line is not echoed into the log.
func (d *deliveryReader) next() (line, error) {
	var l line
	err := d.dec.Decode(&l)
	if errors.Is(err, io.ErrUnexpectedEOF) {
		err = errors.New("delivery cut short inside a line")
	}
	return l, err
}
