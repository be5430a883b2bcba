package gateway

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/turnpike/turnpike/runtime/contract"
)

// An API product (Type PRODUCT) is served like any API up to the backend: its own context,
// version, CORS, subscriptions, tiers, throttling and analytics (CallInfo.API is the
// product). Its revision carries, per resource, the bundled operation's authentication,
// scopes, throttling and policies (its API's followed by its own, compiled as the
// resource's), and per bundled API a copy of that API's backends (APIDef.Product). The last
// step sends each resource to the proxy of its API's backends, with the resource path the
// API itself would forward: a product call reaches the backend exactly as a call of the API
// would.

// productStep picks the backend proxy of the matched resource's API.
type productStep struct {
	targets map[string]http.Handler // API id → the proxy of its backends
}

// newProductProxy builds the last step of a product: one proxy per bundled API (its
// endpoints, timeouts, retries, circuit breaking and response caching), built as an API's
// proxy is.
func (g *Gateway) newProductProxy(def *contract.APIDef) (http.Handler, error) {
	if def.Product == nil || len(def.Product.Targets) == 0 {
		return nil, errors.New("product: the definition names no APIs")
	}
	p := &productStep{targets: make(map[string]http.Handler, len(def.Product.Targets))}
	for _, t := range def.Product.Targets {
		if _, dup := p.targets[t.APIID]; dup {
			return nil, fmt.Errorf("product: API %s is listed twice", t.APIID)
		}
		ep := t.Endpoints
		ep.Type = strings.ToUpper(ep.Type)
		if ep.Type == "" {
			ep.Type = contract.EndpointSingle
		}
		// The product's identity (cache entries are dropped with the product; logs name it)
		// and CORS (the gateway answers CORS for the product), the API's backend settings.
		td := &contract.APIDef{
			ID: def.ID, Name: def.Name, Context: def.Context, Version: def.Version, State: def.State,
			Type: contract.APITypeHTTP, Endpoints: ep, ResponseCache: t.ResponseCache, CORS: def.CORS,
		}
		h, err := g.newProxy(td)
		if err != nil {
			return nil, fmt.Errorf("product: API %s %s: %w", t.Name, t.Version, err)
		}
		p.targets[t.APIID] = h
	}
	for _, r := range def.Resources {
		if _, ok := p.targets[r.TargetAPI]; !ok {
			return nil, fmt.Errorf("product: resource %s %s names API %q, which is not among its targets", r.Method, r.Path, r.TargetAPI)
		}
	}
	return p, nil
}

func (p *productStep) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	call := callFrom(r.Context())
	p.targets[call.Resource.TargetAPI].ServeHTTP(w, r)
}
