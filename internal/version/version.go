// Package version reports the build's version, set with -ldflags -X by the
// Makefile and goreleaser.
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
)

// Set at link time: -X github.com/netbaseline/kubectl-netbaseline/internal/version.Version=v0.1.0 …
var (
	Version = ""
	Commit  = ""
	Date    = ""
	// probeImage is the agent image published with this build, by digest
	// (REGISTRY/NAME@sha256:…): the release pushes the image first and
	// links its digest in. Empty in development builds.
	probeImage = ""
)

// Info is what `kubectl netbaseline version` prints.
type Info struct {
	Version   string `json:"version"`
	Commit    string `json:"commit"`
	Date      string `json:"date,omitempty"`
	GoVersion string `json:"goVersion"`
	Platform  string `json:"platform"`
	// ProbeImage is empty when the build names no agent image.
	ProbeImage string `json:"probeImage,omitempty"`
}

// Get returns the linked-in version, falling back to what `go install`
// records in the binary.
func Get() Info {
	info := Info{Version: Version, Commit: Commit, Date: Date, GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH, ProbeImage: probeImage}
	if bi, ok := debug.ReadBuildInfo(); ok {
		if info.Version == "" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			info.Version = bi.Main.Version
		}
		for _, s := range bi.Settings {
			switch {
			case s.Key == "vcs.revision" && info.Commit == "":
				info.Commit = s.Value
			case s.Key == "vcs.time" && info.Date == "":
				info.Date = s.Value
			}
		}
	}
	if info.Version == "" {
		info.Version = "v0.0.0-dev"
	}
	if info.Commit == "" {
		info.Commit = "unknown"
	}
	return info
}

// ProbeImage is the agent image published with this build, pinned by
// digest, or "" for a development build: no tag is ever guessed, because a
// guessed name pulls whatever someone else pushed under it.
func ProbeImage() string {
	return probeImage
}

// UserAgent names the plugin and its release to the API server (its audit
// log tells releases apart), in kubectl's form.
func UserAgent() string {
	v := Get()
	commit := v.Commit
	if len(commit) > 7 {
		commit = commit[:7]
	}
	return fmt.Sprintf("kubectl-netbaseline/%s (%s) %s", v.Version, v.Platform, commit)
}
