package main

import (
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/frontdesk/frontdesk/config"
	"github.com/frontdesk/frontdesk/intake/webhook"
	"github.com/frontdesk/frontdesk/message"
)

// intakeRoutes adds the web form and provider webhook endpoints to mux,
// their answers counted in reg.
func intakeRoutes(mux *http.ServeMux, cfg *config.Config, acc webhook.Acceptor, reg prometheus.Registerer, log *slog.Logger) error {
	counters, err := webhook.NewCounters(reg)
	if err != nil {
		return err
	}
	// The routes stand even with nothing configured, so that a post to an
	// unknown form or endpoint gets the same JSON 404, logged and counted.
	in := http.NewServeMux()
	forms, err := formHandler(cfg, acc, counters, log.With("component", "forms"))
	if err != nil {
		return err
	}
	forms.Register(in)
	ph := &webhook.ProviderHandler{Acceptor: acc, Now: time.Now, Log: log.With("component", "webhooks"), Counters: counters}
	for _, w := range cfg.InboundWebhooks {
		err := ph.Add(webhook.ProviderConfig{
			Name: w.Name, Provider: w.Provider, SigningKey: []byte(w.SigningKey), URLSecret: w.URLSecret,
			Username: w.Username, Password: w.Password, Intent: message.Intent(w.Intent), Queue: w.Queue,
			MaxBodyBytes: w.MaxBodyBytes, ReplayWindow: w.ReplayWindow,
		})
		if err != nil {
			return fmt.Errorf("inbound webhook %s/%s: %w", w.Provider, w.Name, err)
		}
		log.Info("inbound webhook served", "provider", w.Provider, "name", w.Name, "path", "POST /intake/"+w.Provider+"/"+w.Name)
	}
	ph.Register(in)
	// Every intake route is behind the per-client rate limit and the
	// in-flight bounds.
	rl, err := webhook.NewRateLimiter(webhook.RateLimit{
		Rate: cfg.HTTP.ClientRate, Burst: cfg.HTTP.ClientBurst, TrustedProxies: cfg.HTTP.TrustedProxies,
		MaxInflight: cfg.HTTP.MaxInflight, MaxInflightBytes: cfg.HTTP.MaxInflightBytes,
		Log: log.With("component", "ratelimit"), Counters: counters,
	})
	if err != nil {
		return fmt.Errorf("http rate limit: %w", err)
	}
	mux.Handle("/intake/", rl.Wrap(in))
	return nil
}

// formHandler serves the configured web forms on the API's listener.
func formHandler(cfg *config.Config, acc webhook.Acceptor, counters *webhook.Counters, log *slog.Logger) (*webhook.FormHandler, error) {
	h := &webhook.FormHandler{
		Forms: map[string]*webhook.FormConfig{}, Acceptor: acc, Domain: cfg.Instance.Domain,
		Now: time.Now, Log: log, Counters: counters,
	}
	for _, f := range cfg.Forms {
		fc := &webhook.FormConfig{
			Name: f.Name, Intent: message.Intent(f.Intent), Queue: f.Queue, MaxBodyBytes: f.MaxBodyBytes,
			AllowedOrigins: f.AllowedOrigins,
			Mapping: webhook.Mapping{
				Email: f.Fields.Email, Name: f.Fields.Name, Subject: f.Fields.Subject,
				Message: f.Fields.Message, Phone: f.Fields.Phone, OrderLines: f.Fields.OrderLines,
			},
		}
		for _, s := range f.Secrets() {
			k, err := webhook.Key(s)
			if err != nil {
				return nil, fmt.Errorf("form %s: %w", f.Name, err)
			}
			fc.Keys = append(fc.Keys, k)
		}
		h.Forms[f.Name] = fc
	}
	if len(h.Forms) > 0 {
		log.Info("web forms served", "forms", len(h.Forms), "path", "POST /intake/forms/{form}")
	}
	return h, nil
}
