package auth

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"

	"github.com/headroom-dev/headroom/internal/httpserver"
)

// Rule is who may call one route. Operator may always; Roles lists the
// others. Reader is further limited to GET and HEAD whatever the rule
// says: it is the read-only role.
type Rule struct {
	// Public routes need no credential (/metrics, /healthz).
	Public bool
	Roles  []Role
}

// Allows reports whether role may call the route with method.
func (r Rule) Allows(role Role, method string) bool {
	if r.Public || role == Operator {
		return true
	}
	if role == Reader && method != http.MethodGet && method != http.MethodHead {
		return false
	}
	return slices.Contains(r.Roles, role)
}

// Policy authenticates and authorizes the requests of one server.
type Policy struct {
	Credentials *Set
	// Route returns the pattern a request routes to ("" when none) and
	// its rule; ok is false for a route without a rule, which only the
	// operator may call (deny by default).
	Route  func(*http.Request) (pattern string, rule Rule, ok bool)
	Logger *slog.Logger
}

type ctxKey struct{}

// FromContext returns the identity the policy authenticated, if any.
func FromContext(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(ctxKey{}).(Identity)
	return id, ok
}

// WithIdentity returns ctx carrying id (what the middleware does; tests of
// handlers use it directly).
func WithIdentity(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// Handler wraps next: public routes pass; every other request needs a
// known bearer token, or without one a verified client certificate of a
// known common name (401), whose role the route's rule allows (403). A
// request that routes nowhere is authenticated too, then left to next
// (404, 405): an anonymous caller learns nothing about the routes.
func (p Policy) Handler(next http.Handler) http.Handler {
	log := p.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pattern, rule, ruled := p.Route(r)
		if ruled && rule.Public {
			next.ServeHTTP(w, r)
			return
		}
		id, ok := p.Credentials.Authenticate(r.Header.Get("Authorization"))
		if !ok && r.TLS != nil && r.Header.Get("Authorization") == "" {
			id, ok = p.Credentials.AuthenticateCert(r.TLS.VerifiedChains)
		}
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="headroom"`)
			msg := "missing bearer token"
			if r.Header.Get("Authorization") != "" {
				msg = "unknown bearer token"
			}
			httpserver.WriteError(w, http.StatusUnauthorized, msg,
				"send Authorization: Bearer TOKEN with a credential of this master (docs/security.md)")
			return
		}
		if pattern != "" && !ruled {
			rule = Rule{} // operator only
			log.Error("route without an access rule; only operators may call it", "route", pattern)
		}
		if pattern != "" && !rule.Allows(id.Role, r.Method) {
			log.Warn("request refused: role not allowed", "credential", id.Credential, "role", id.Role,
				"method", r.Method, "route", pattern, "remote", r.RemoteAddr)
			httpserver.WriteError(w, http.StatusForbidden, "forbidden",
				fmt.Sprintf("credential %q has role %q, which may not call %s %s", id.Credential, id.Role, r.Method, r.URL.Path))
			return
		}
		next.ServeHTTP(w, r.WithContext(WithIdentity(r.Context(), id)))
	})
}
