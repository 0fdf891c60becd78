package kadm5

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strings"

	"github.com/krb5prop/krb5prop/internal/krb5x"
	"github.com/krb5prop/krb5prop/kdb"
)

// PolicyMask says which fields of a PolicySpec are set.
type PolicyMask uint32

// Field bits of PolicyMask.
const (
	PolMaxLife PolicyMask = 1 << iota
	PolMinLife
	PolMinLength
	PolMinClasses
	PolHistory
	PolMaxFail
	PolFailcntInterval
	PolLockoutDuration
	PolAllowedKeysalts
)

// PolicySpec carries what addpol or modpol sets.
type PolicySpec struct {
	Name string
	Mask PolicyMask
	kdb.Policy
}

// Limits MIT enforces on policies (server_internal.h).
const (
	minPwLength  = 1
	minPwClasses = 1
	maxPwClasses = 5
	minPwHistory = 1
)

func validPolicyName(name string) bool {
	if name == "" {
		return false
	}
	for i := 0; i < len(name); i++ {
		if name[i] < ' ' || name[i] > '~' {
			return false
		}
	}
	return true
}

// validateAllowedKeysalts accepts what validate_allowed_keysalts accepts: a
// comma-separated enctype:salt list with no tabs. Unlike MIT, an unknown
// enctype is an error rather than silently dropped.
func validateAllowedKeysalts(s string) error {
	if s == "" {
		return nil
	}
	if strings.ContainsRune(s, '\t') {
		return ErrBadKeysalts
	}
	if _, err := krb5x.ParseKeySalts(s); err != nil {
		return fmt.Errorf("%w: %v", ErrBadKeysalts, err)
	}
	return nil
}

// apply copies the masked fields of spec into p with MIT's range checks.
func (spec PolicySpec) apply(p *kdb.Policy) error {
	if spec.Mask&PolMaxLife != 0 {
		p.PwMaxLife = spec.PwMaxLife
	}
	if spec.Mask&PolMinLife != 0 {
		if spec.PwMinLife > p.PwMaxLife && p.PwMaxLife != 0 {
			return ErrBadMinLife
		}
		p.PwMinLife = spec.PwMinLife
	}
	if spec.Mask&PolMinLength != 0 {
		if spec.PwMinLength < minPwLength {
			return ErrBadLength
		}
		p.PwMinLength = spec.PwMinLength
	}
	if spec.Mask&PolMinClasses != 0 {
		if spec.PwMinClasses < minPwClasses || spec.PwMinClasses > maxPwClasses {
			return ErrBadClass
		}
		p.PwMinClasses = spec.PwMinClasses
	}
	if spec.Mask&PolHistory != 0 {
		if spec.PwHistoryNum < minPwHistory {
			return ErrBadHistory
		}
		p.PwHistoryNum = spec.PwHistoryNum
	}
	if spec.Mask&PolMaxFail != 0 {
		p.PwMaxFail = spec.PwMaxFail
	}
	if spec.Mask&PolFailcntInterval != 0 {
		p.PwFailcntInterval = spec.PwFailcntInterval
	}
	if spec.Mask&PolLockoutDuration != 0 {
		p.PwLockoutDuration = spec.PwLockoutDuration
	}
	if spec.Mask&PolAllowedKeysalts != 0 {
		if err := validateAllowedKeysalts(spec.AllowedKeysalts); err != nil {
			return err
		}
		p.AllowedKeysalts = spec.AllowedKeysalts
	}
	return nil
}

// CreatePolicy adds a policy as kadm5_create_policy does: unset length,
// classes and history default to 1.
func (s *Server) CreatePolicy(ctx context.Context, spec PolicySpec) error {
	if !validPolicyName(spec.Name) {
		return fmt.Errorf("%q: Illegal policy name", spec.Name)
	}
	return s.Store.Update(ctx, func(tx *kdb.Tx) error {
		if _, err := tx.GetPolicy(ctx, spec.Name); err == nil {
			return fmt.Errorf("%s: %w", spec.Name, ErrDup)
		} else if !errors.Is(err, kdb.ErrPolicyMissing) {
			return err
		}
		p := &kdb.Policy{Name: spec.Name, PwMinLength: minPwLength, PwMinClasses: minPwClasses, PwHistoryNum: minPwHistory}
		// MIT checks min life against the new max life when both are given.
		if spec.Mask&PolMaxLife != 0 {
			p.PwMaxLife = spec.PwMaxLife
		}
		if err := spec.apply(p); err != nil {
			return err
		}
		return tx.PutPolicy(ctx, p)
	})
}

// ModifyPolicy changes the masked fields of a policy.
func (s *Server) ModifyPolicy(ctx context.Context, spec PolicySpec) error {
	return s.Store.Update(ctx, func(tx *kdb.Tx) error {
		p, err := tx.GetPolicy(ctx, spec.Name)
		if errors.Is(err, kdb.ErrPolicyMissing) {
			return fmt.Errorf("%s: %w", spec.Name, ErrUnknownPolicy)
		}
		if err != nil {
			return err
		}
		if err := spec.apply(p); err != nil {
			return err
		}
		return tx.PutPolicy(ctx, p)
	})
}

// DeletePolicy removes a policy. As in MIT 1.20, principals may still
// name it; getprinc then shows it as "[does not exist]".
func (s *Server) DeletePolicy(ctx context.Context, name string) error {
	return s.Store.Update(ctx, func(tx *kdb.Tx) error {
		err := tx.DeletePolicy(ctx, name)
		if errors.Is(err, kdb.ErrPolicyMissing) {
			return fmt.Errorf("%s: %w", name, ErrUnknownPolicy)
		}
		return err
	})
}

// GetPolicy returns a policy.
func (s *Server) GetPolicy(ctx context.Context, name string) (*kdb.Policy, error) {
	p, err := s.Store.GetPolicy(ctx, name)
	if errors.Is(err, kdb.ErrPolicyMissing) {
		return nil, fmt.Errorf("%s: %w", name, ErrUnknownPolicy)
	}
	return p, err
}

// ListPolicies returns the policy names matching the glob (all when empty).
func (s *Server) ListPolicies(ctx context.Context, glob string) ([]string, error) {
	var out []string
	err := s.Store.Snapshot(ctx, func(v *kdb.View) error {
		return v.Policies(ctx, func(p *kdb.Policy) error {
			if glob == "" || globMatch(glob, p.Name) {
				out = append(out, p.Name)
			}
			return nil
		})
	})
	return out, err
}

// ListPrincipals returns the unparsed names matching the glob, in database
// order. As kadm5_get_principals does, a glob without "@" matches that
// name in any realm (MIT appends "@.*" to its regular expression).
func (s *Server) ListPrincipals(ctx context.Context, glob string) ([]string, error) {
	if glob != "" && !strings.Contains(glob, "@") {
		glob += "@*"
	}
	var out []string
	err := s.Store.Snapshot(ctx, func(v *kdb.View) error {
		return v.Principals(ctx, false, func(p *kdb.Principal) error {
			name := p.Name.String()
			if glob == "" || globMatch(glob, name) {
				out = append(out, name)
			}
			return nil
		})
	})
	return out, err
}

// globMatch matches shell-style globs (* ? [...]) over the whole string;
// unlike path.Match, "/" is an ordinary character, as in MIT's
// glob-to-regexp conversion.
func globMatch(pattern, name string) bool {
	// path.Match treats '/' specially; swap it for a byte that cannot occur
	// in a pattern meaningfully so '*' spans components.
	const sep = "\x00"
	ok, err := path.Match(strings.ReplaceAll(pattern, "/", sep), strings.ReplaceAll(name, "/", sep))
	return err == nil && ok
}
