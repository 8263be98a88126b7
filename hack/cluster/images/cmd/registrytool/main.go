// registrytool talks to the test bed's loopback registry (hack/registry):
//
//	registrytool push [-ca CA] [-user U -password-file F] REF ARCHIVE
//	    pushes an OCI image layout tarball (an index: every platform) or a
//	    docker archive (one image) under the tag REF and prints
//	    REPOSITORY@sha256:… as the registry stored it
//	registrytool digest [-ca CA] [-user U -password-file F] REF
//	    prints the digest the registry serves for REF
//	registrytool htpasswd USER PASSWORD-FILE
//	    prints the bcrypt htpasswd line the registry's auth reads
//
// TLS is verified against CA only (the cluster's own CA); nothing is sent
// to any other address than the one REF names.
package main

import (
	"archive/tar"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"golang.org/x/crypto/bcrypt"
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("registrytool: ")
	if len(os.Args) < 2 {
		log.Fatal("usage: registrytool push|digest|htpasswd …")
	}
	var err error
	switch os.Args[1] {
	case "push":
		err = push(os.Args[2:])
	case "digest":
		err = digest(os.Args[2:])
	case "htpasswd":
		err = htpasswd(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q: use push, digest or htpasswd", os.Args[1])
	}
	if err != nil {
		log.Fatal(err)
	}
}

type conn struct {
	ca, user, passwordFile string
}

func (c *conn) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.ca, "ca", "", "PEM file of the CA that signed the registry's certificate")
	fs.StringVar(&c.user, "user", "", "user name (basic auth)")
	fs.StringVar(&c.passwordFile, "password-file", "", "file holding the password")
}

func (c *conn) options() ([]remote.Option, error) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil // loopback only: never through a proxy
	if c.ca != "" {
		pem, err := os.ReadFile(c.ca)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("%s: no certificate", c.ca)
		}
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	}
	opts := []remote.Option{remote.WithTransport(tr)}
	if c.user != "" {
		pw, err := os.ReadFile(c.passwordFile)
		if err != nil {
			return nil, err
		}
		opts = append(opts, remote.WithAuth(&authn.Basic{Username: c.user, Password: strings.TrimSpace(string(pw))}))
	}
	return opts, nil
}

func push(args []string) error {
	fs := flag.NewFlagSet("push", flag.ExitOnError)
	var c conn
	c.flags(fs)
	_ = fs.Parse(args)
	if fs.NArg() != 2 {
		return errors.New("usage: registrytool push [-ca CA] REF ARCHIVE")
	}
	ref, err := name.NewTag(fs.Arg(0), name.StrictValidation)
	if err != nil {
		return err
	}
	opts, err := c.options()
	if err != nil {
		return err
	}
	archive := fs.Arg(1)
	layoutDir, err := extractLayout(archive)
	if err != nil {
		return err
	}
	var pushed string
	if layoutDir != "" {
		defer os.RemoveAll(layoutDir)
		idx, err := layout.ImageIndexFromPath(layoutDir)
		if err != nil {
			return err
		}
		// index.json is the image index itself (ociimage), or names one
		inner := v1.ImageIndex(idx)
		desc, err := idx.IndexManifest()
		if err != nil {
			return err
		}
		if len(desc.Manifests) == 1 && desc.Manifests[0].MediaType.IsIndex() {
			if inner, err = idx.ImageIndex(desc.Manifests[0].Digest); err != nil {
				return err
			}
		}
		if err := remote.WriteIndex(ref, inner, opts...); err != nil {
			return err
		}
		d, err := inner.Digest()
		if err != nil {
			return err
		}
		pushed = d.String()
	} else {
		img, err := tarball.ImageFromPath(archive, nil)
		if err != nil {
			return err
		}
		if err := remote.Write(ref, img, opts...); err != nil {
			return err
		}
		d, err := img.Digest()
		if err != nil {
			return err
		}
		pushed = d.String()
	}
	// what the registry serves now is the proof, not what we computed
	served, err := remote.Head(ref, opts...)
	if err != nil {
		return err
	}
	if served.Digest.String() != pushed {
		return fmt.Errorf("%s: the registry serves %s, pushed %s", ref, served.Digest, pushed)
	}
	fmt.Printf("%s@%s\n", ref.Context().Name(), pushed)
	return nil
}

func digest(args []string) error {
	fs := flag.NewFlagSet("digest", flag.ExitOnError)
	var c conn
	c.flags(fs)
	_ = fs.Parse(args)
	if fs.NArg() != 1 {
		return errors.New("usage: registrytool digest [-ca CA] REF")
	}
	ref, err := name.ParseReference(fs.Arg(0), name.StrictValidation)
	if err != nil {
		return err
	}
	opts, err := c.options()
	if err != nil {
		return err
	}
	d, err := remote.Head(ref, opts...)
	if err != nil {
		return err
	}
	fmt.Println(d.Digest)
	return nil
}

func htpasswd(args []string) error {
	if len(args) != 2 {
		return errors.New("usage: registrytool htpasswd USER PASSWORD-FILE")
	}
	pw, err := os.ReadFile(args[1])
	if err != nil {
		return err
	}
	h, err := bcrypt.GenerateFromPassword([]byte(strings.TrimSpace(string(pw))), bcrypt.DefaultCost)
	if err != nil {
		return err
	}
	fmt.Printf("%s:%s\n", args[0], h)
	return nil
}

// extractLayout unpacks an OCI image layout tarball into a temporary
// directory; "" when the archive is not one (a docker archive).
func extractLayout(archive string) (string, error) {
	f, err := os.Open(archive)
	if err != nil {
		return "", err
	}
	defer f.Close()
	var dir string
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return "", fmt.Errorf("%s: %w", archive, err)
		}
		clean := filepath.Clean(h.Name)
		if clean == "manifest.json" && dir == "" {
			return "", nil // docker archive
		}
		if strings.HasPrefix(clean, "..") || filepath.IsAbs(clean) {
			return "", fmt.Errorf("%s: entry %q leaves the archive", archive, h.Name)
		}
		if dir == "" {
			if dir, err = os.MkdirTemp("", "registrytool-"); err != nil {
				return "", err
			}
		}
		target := filepath.Join(dir, clean)
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return "", err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return "", err
			}
			out, err := os.Create(target)
			if err != nil {
				return "", err
			}
			if _, err := io.Copy(out, tr); err != nil {
				out.Close()
				return "", err
			}
			if err := out.Close(); err != nil {
				return "", err
			}
		}
	}
	if dir == "" {
		return "", fmt.Errorf("%s: empty archive", archive)
	}
	if _, err := os.Stat(filepath.Join(dir, "index.json")); err != nil {
		os.RemoveAll(dir)
		return "", nil
	}
	return dir, nil
}
