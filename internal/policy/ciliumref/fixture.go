package ciliumref

// The shared fixture format (one YAML file per scenario, several cases).

import (
	"fmt"
	"os"

	"sigs.k8s.io/yaml"
)

// Fixture is one scenario file.
type Fixture struct {
	Source string
	Cluster
	Cases []Case
}

// Case is one connection and its expected verdict.
type Case struct {
	From, To Endpoint
	Port     int32
	Protocol string
	Expect   Verdict
	// L7 is the expected Result.L7 when the fixture says (nil: not checked).
	L7   *bool
	Note string
}

type rawEndpoint struct {
	Pod    string `json:"pod,omitempty"`
	IP     string `json:"ip,omitempty"`
	Entity string `json:"entity,omitempty"`
}

type rawFixture struct {
	Source     string            `json:"source"`
	Config     map[string]string `json:"config,omitempty"`
	Namespaces []struct {
		Name   string            `json:"name"`
		Labels map[string]string `json:"labels,omitempty"`
	} `json:"namespaces,omitempty"`
	Pods []struct {
		Namespace      string            `json:"namespace"`
		Name           string            `json:"name"`
		Labels         map[string]string `json:"labels,omitempty"`
		IP             string            `json:"ip,omitempty"`
		ServiceAccount string            `json:"serviceAccount,omitempty"`
		Ports          []struct {
			Name     string `json:"name"`
			Port     int32  `json:"port"`
			Protocol string `json:"protocol,omitempty"`
		} `json:"ports,omitempty"`
	} `json:"pods,omitempty"`
	Services []struct {
		Namespace string            `json:"namespace"`
		Name      string            `json:"name"`
		Selector  map[string]string `json:"selector,omitempty"`
		Ports     []struct {
			Port       int32  `json:"port"`
			TargetPort int32  `json:"targetPort,omitempty"`
			Protocol   string `json:"protocol,omitempty"`
		} `json:"ports,omitempty"`
	} `json:"services,omitempty"`
	Policies []map[string]any `json:"policies,omitempty"`
	Cases    []struct {
		From     rawEndpoint `json:"from"`
		To       rawEndpoint `json:"to"`
		Port     int32       `json:"port,omitempty"`
		Protocol string      `json:"protocol,omitempty"`
		Expect   Verdict     `json:"expect"`
		L7       *bool       `json:"l7,omitempty"`
		Note     string      `json:"note,omitempty"`
	} `json:"cases"`
}

// LoadFixture reads one fixture file.
func LoadFixture(path string) (Fixture, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Fixture{}, err
	}
	var raw rawFixture
	if err := yaml.UnmarshalStrict(b, &raw); err != nil {
		return Fixture{}, fmt.Errorf("%s: %w", path, err)
	}
	f := Fixture{Source: raw.Source}
	f.Config = raw.Config
	for _, n := range raw.Namespaces {
		f.Namespaces = append(f.Namespaces, Namespace{Name: n.Name, Labels: n.Labels})
	}
	for _, p := range raw.Pods {
		pod := Pod{Namespace: p.Namespace, Name: p.Name, IP: p.IP, ServiceAccount: p.ServiceAccount, Labels: p.Labels}
		for _, np := range p.Ports {
			pod.Ports = append(pod.Ports, NamedPort{Name: np.Name, Port: np.Port, Protocol: np.Protocol})
		}
		f.Pods = append(f.Pods, pod)
	}
	for _, s := range raw.Services {
		svc := Service{Namespace: s.Namespace, Name: s.Name, Selector: s.Selector}
		for _, sp := range s.Ports {
			svc.Ports = append(svc.Ports, ServicePort{Port: sp.Port, TargetPort: sp.TargetPort, Protocol: sp.Protocol})
		}
		f.Services = append(f.Services, svc)
	}
	f.Policies = raw.Policies
	for i, c := range raw.Cases {
		switch c.Expect {
		case Allowed, Denied, Unspecified:
		default:
			return Fixture{}, fmt.Errorf("%s: case %d: expect %q", path, i, c.Expect)
		}
		f.Cases = append(f.Cases, Case{
			From: Endpoint(c.From), To: Endpoint(c.To), Port: c.Port, Protocol: c.Protocol,
			Expect: c.Expect, L7: c.L7, Note: c.Note,
		})
	}
	return f, nil
}
