package certfile

import "errors"

// ErrConfig means a Config names no certificate or key file.
var ErrConfig = errors.New("certfile: config")
