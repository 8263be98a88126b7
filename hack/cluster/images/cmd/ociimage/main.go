// ociimage: build the netbaseline-probe release image for several
// platforms as one OCI image layout tarball (an index with one manifest
// per platform), with no docker engine and no registry. The release job
// pushes it (e.g. crane push / oras) to the registry of its choice.
//
//	ociimage -o dist/netbaseline-probe_v0.1.0_oci.tar -tag v0.1.0 \
//	    -binary linux/amd64=dist/probe-amd64 -binary linux/arm64=dist/probe-arm64
package main

import (
	"archive/tar"
	"bytes"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

type multi []string

func (m *multi) String() string     { return strings.Join(*m, ",") }
func (m *multi) Set(s string) error { *m = append(*m, s); return nil }

func main() {
	out := flag.String("o", "", "output tarball (OCI image layout)")
	tag := flag.String("tag", "", "version, recorded as org.opencontainers.image.version")
	var binaries multi
	flag.Var(&binaries, "binary", "OS/ARCH=path of the static agent (repeatable)")
	flag.Parse()
	if *out == "" || len(binaries) == 0 {
		log.Fatal("usage: ociimage -o OUT.tar -tag VERSION -binary linux/amd64=PATH ...")
	}
	idx := mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	epoch := time.Unix(0, 0)
	for _, b := range binaries {
		platform, path, ok := strings.Cut(b, "=")
		osName, arch, ok2 := strings.Cut(platform, "/")
		if !ok || !ok2 {
			log.Fatalf("bad -binary %q", b)
		}
		img, err := image(path, osName, arch, *tag, epoch)
		if err != nil {
			log.Fatal(err)
		}
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: osName, Architecture: arch}}})
	}
	dir, err := os.MkdirTemp("", "ociimage-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if _, err := layout.Write(dir, idx); err != nil {
		log.Fatal(err)
	}
	if err := tarDir(dir, *out, epoch); err != nil {
		log.Fatal(err)
	}
	d, _ := idx.Digest()
	fmt.Printf("%s: index %s\n", *out, d)
}

// image is one platform's image: the agent as /netbaseline-probe, run as
// the numeric non-root user 65534 (Pod Security "restricted" needs it).
func image(path, osName, arch, tag string, epoch time.Time) (v1.Image, error) {
	bin, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	files := []struct {
		name string
		mode int64
		data []byte
	}{
		{"etc/passwd", 0o644, []byte("nobody:x:65534:65534:nobody:/:/sbin/nologin\n")},
		{"etc/group", 0o644, []byte("nobody:x:65534:\n")},
		{"netbaseline-probe", 0o755, bin},
	}
	for _, f := range files {
		if err := tw.WriteHeader(&tar.Header{Name: f.name, Mode: f.mode, Size: int64(len(f.data)), ModTime: epoch, Typeflag: tar.TypeReg}); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(buf.Bytes())), nil })
	if err != nil {
		return nil, err
	}
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layer)
	if err != nil {
		return nil, err
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg = cfg.DeepCopy()
	cfg.OS, cfg.Architecture, cfg.Created = osName, arch, v1.Time{Time: epoch}
	cfg.Config.Entrypoint = []string{"/netbaseline-probe"}
	cfg.Config.User = "65534:65534"
	cfg.Config.Labels = map[string]string{"org.opencontainers.image.title": "netbaseline-probe", "org.opencontainers.image.version": tag,
		"org.opencontainers.image.licenses": "Apache-2.0"}
	return mutate.ConfigFile(img, cfg)
}

// tarDir packs the OCI layout folder reproducibly.
func tarDir(dir, out string, epoch time.Time) error {
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(f)
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		hdr, err := tar.FileInfoHeader(info, "")
		if err != nil {
			return err
		}
		hdr.Name, hdr.ModTime, hdr.Uid, hdr.Gid, hdr.Uname, hdr.Gname = filepath.ToSlash(rel), epoch, 0, 0, "", ""
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		_, err = tw.Write(data)
		return err
	})
	if err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return f.Close()
}
