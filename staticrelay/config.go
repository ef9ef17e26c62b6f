package staticrelay

import (
	"time"

	"github.com/relaygate/relaygate/internal/filepoll"
)

// Config configures a Watcher: Path is the YAML file, required;
// PollInterval is how often Run reads the file again to see whether it
// changed, default 5s. The file is small (MaxFileSize at most), so a read
// per interval costs nothing worth saving.
type Config = filepoll.Config

const defaultPollInterval = 5 * time.Second
