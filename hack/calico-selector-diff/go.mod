module netbaseline.local/calico-selector-diff

go 1.26.6

require (
	github.com/projectcalico/calico v1.11.0-cni-plugin.0.20250813170300-a0db560f0520
	github.com/sirupsen/logrus v1.9.3
)

require golang.org/x/sys v0.33.0 // indirect
