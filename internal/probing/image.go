package probing

import (
	"os"

	"github.com/netbaseline/kubectl-netbaseline/internal/exit"
	"github.com/netbaseline/kubectl-netbaseline/internal/version"
)

// Image is the probe agent's image: $NETBASELINE_PROBE_IMAGE, else the
// config's, else the image published with this build by digest (--image
// overrides all three); "" for a development build, which never guesses
// a name.
func Image(configured string) string {
	if env := os.Getenv("NETBASELINE_PROBE_IMAGE"); env != "" {
		return env
	}
	if configured != "" {
		return configured
	}
	return version.ProbeImage()
}

// RequireImage refuses to probe without an image, before any API call
// (exit 2).
func RequireImage(image string) error {
	if image != "" {
		return nil
	}
	return exit.Usagef("this development build names no probe image (releases carry theirs, pinned by digest): " +
		"pass --image REGISTRY/netbaseline-probe@sha256:…, or set $NETBASELINE_PROBE_IMAGE or probe.image in the config (docs/commands.md#the-probe-image)")
}

// ImageHelp says what --image defaults to in this build.
func ImageHelp() string {
	if img := version.ProbeImage(); img != "" {
		return img
	}
	return "none in a development build"
}
