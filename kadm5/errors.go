package kadm5

import "errors"

// Errors with MIT's kadm5 texts (src/lib/kadm5/kadm_err.et): kadmin prints
// them after its own context, and scripts grep for them.
var (
	ErrDup            = errors.New("Principal or policy already exists")
	ErrUnknownPrinc   = errors.New("Principal does not exist")
	ErrUnknownPolicy  = errors.New("Policy does not exist")
	ErrPassTooShort   = errors.New("Password is too short")
	ErrPassClass      = errors.New("Password does not contain enough character classes")
	ErrPassDict       = errors.New("Password may not match principal name")
	ErrPassEmpty      = errors.New("Empty passwords are not allowed")
	ErrPassReuse      = errors.New("Cannot reuse password")
	ErrProtectPrinc   = errors.New("Cannot change protected principal")
	ErrBadKeysalts    = errors.New("Invalid key/salt tuples")
	ErrBadHistory     = errors.New("Invalid password history count")
	ErrBadLength      = errors.New("Invalid password length")
	ErrBadClass       = errors.New("Invalid number of character classes")
	ErrBadMinLife     = errors.New("Password minimum life is greater than password maximum life")
	ErrBadServerParam = errors.New("Illegal configuration parameter for local KADM5 client")
	ErrBadMask        = errors.New("Invalid field mask for operation")
)
