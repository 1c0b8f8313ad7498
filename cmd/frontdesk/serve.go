package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"github.com/frontdesk/frontdesk/config"
	"github.com/frontdesk/frontdesk/intake"
	"github.com/frontdesk/frontdesk/intake/imap"
	"github.com/frontdesk/frontdesk/intake/mailparse"
	"github.com/frontdesk/frontdesk/internal/msgid"
	"github.com/frontdesk/frontdesk/internal/redisproc"
	"github.com/frontdesk/frontdesk/mailer"
	"github.com/frontdesk/frontdesk/message"
	"github.com/frontdesk/frontdesk/pipeline"
	"github.com/frontdesk/frontdesk/store/blob"
	"github.com/frontdesk/frontdesk/store/sqlite"
	"github.com/frontdesk/frontdesk/templates"
	"github.com/frontdesk/frontdesk/web"
)

// serve runs the daemon until ctx is cancelled (SIGTERM), then stops intake,
// drains in-flight tasks and closes the store, in that order.
func serve(ctx context.Context, cfg *config.Config, logw io.Writer) error {
	log := newLogger(cfg.Log, logw)
	log.Info("frontdesk starting", "version", version, "data_dir", cfg.DataDir)
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	secret, err := loadSecret(cfg)
	if err != nil {
		return err
	}

	// Redis: external, or a managed redis-server child.
	addr := cfg.Redis.Addr
	if addr == "" {
		rp, err := redisproc.Start(ctx, redisproc.Options{
			Binary: cfg.Redis.Binary, Dir: filepath.Join(cfg.DataDir, "redis"),
			Port: 0, Log: log.With("component", "redis"),
		})
		if err != nil {
			return fmt.Errorf("managed redis: %w", err)
		}
		defer rp.Stop()
		addr = rp.Addr()
		log.Info("managed redis-server started", "addr", addr, "dir", filepath.Join(cfg.DataDir, "redis"))
	}
	// Every worker holds a connection while it dequeues and finishes a
	// task, and intake enqueues beside them: size the pool for both.
	rc := redis.NewClient(&redis.Options{Addr: addr, Password: cfg.Redis.Password, DB: cfg.Redis.DB,
		PoolSize: cfg.Pipeline.Concurrency + 16})
	defer rc.Close()
	if aof, err := redisproc.AppendOnly(ctx, rc); err != nil {
		log.Warn("cannot read redis persistence settings", "err", err)
	} else if !aof {
		log.Warn("redis has appendonly no: queued tasks are lost on a Redis restart; the SQL ledger re-enqueues them, at the cost of a delay")
	}

	// The system of record.
	dsn := cfg.Store.DSN
	if dsn == "" {
		dsn = filepath.Join(cfg.DataDir, "frontdesk.db")
	}
	db, err := sqlite.Open(ctx, dsn, log.With("component", "store"))
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	defer db.Close()
	files, err := blob.Open(filepath.Join(cfg.DataDir, "blobs"))
	if err != nil {
		return fmt.Errorf("blob store: %w", err)
	}
	// Small blobs live in the database (one durable group commit instead
	// of a durable file each); blobs already kept as files stay readable.
	blobs, err := blob.NewTiered(files, db, cfg.Store.InlineBlobBytes)
	if err != nil {
		return fmt.Errorf("blob store: %w", err)
	}

	// Outgoing mail.
	tmpl, err := templates.Load(cfg.Ack.TemplatesDir)
	if err != nil {
		return fmt.Errorf("templates: %w", err)
	}
	sender, err := newSender(cfg, log)
	if err != nil {
		return err
	}
	if c, ok := sender.(io.Closer); ok {
		defer c.Close()
	}
	ids := msgid.NewMinter(secret, cfg.Instance.Domain)

	// The pipeline.
	enq := pipeline.NewEnqueuer(rc, cfg.Pipeline.MaxRetry)
	parser := mailparse.New(mailparse.Options{
		Limits:         cfg.Limits.Message(),
		Blobs:          blobs,
		OwnAddresses:   cfg.OwnAddresses(),
		LoopID:         ids.LoopID(),
		IsOwnMessageID: func(id string) bool { _, _, ok := ids.Verify(id); return ok },
	})
	h := &pipeline.Handlers{
		Store: db, Blobs: blobs, Normaliser: parser, Tasks: enq,
		Classifier: pipeline.NewClassifier(cfg.Classify.Rules),
		Acks: &pipeline.Acknowledger{
			Enabled: cfg.Ack.Enabled, Sender: sender, Templates: tmpl, IDs: ids, Domain: cfg.Instance.Domain,
			From: cfg.Ack.From, ReplyTo: cfg.Ack.ReplyTo, Company: companyName(cfg.Ack.From),
			Followups: cfg.Ack.Followups, PerRecipient: cfg.Ack.PerRecipient, PerCase: cfg.Ack.PerCase,
			Window: cfg.Ack.Window, Own: cfg.OwnAddresses(),
		},
		SLA: cfg.SLA, Log: log.With("component", "pipeline"), Now: time.Now,
	}
	srv := pipeline.NewServer(rc, cfg.Pipeline, h, log)
	if err := srv.Start(h.Mux()); err != nil {
		return fmt.Errorf("pipeline workers: %w", err)
	}
	defer srv.Shutdown() // drains in-flight tasks (bounded by shutdown_timeout)

	var wg sync.WaitGroup
	defer wg.Wait()
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBG()
	sweeper := &pipeline.Sweeper{
		Store: db, Tasks: enq, Interval: cfg.Pipeline.SweepInterval, Age: cfg.Pipeline.SweepAge,
		Log: log.With("component", "sweep"), Now: time.Now, Archived: h.Archived,
	}
	wg.Go(func() { _ = sweeper.Run(bg) })

	// The API's listener first: a port in use stops start-up before any
	// mailbox is touched.
	ln, err := net.Listen("tcp", cfg.HTTP.Listen)
	if err != nil {
		return fmt.Errorf("http listen: %w", err)
	}
	defer ln.Close()
	if cfg.HTTP.DebugListen != "" {
		stopDebug, err := serveDebug(ctx, cfg.HTTP.DebugListen, log.With("component", "debug"))
		if err != nil {
			return err
		}
		defer stopDebug()
	}

	// Intake.
	acc := &intake.Acceptor{
		Blobs: blobs, Ledger: db, Enqueuer: enq, Log: log.With("component", "intake"),
		MaxBytes: cfg.Limits.MaxMessageBytes, Limits: cfg.Limits.Message(),
		// The blob store keeps small blobs in db: those are written with
		// their inbound row.
		Inline: blobs, InlineLedger: db,
	}
	intakeCtx, stopIntake := context.WithCancel(ctx)
	defer stopIntake()
	var intakeWG sync.WaitGroup
	pollers := make([]*imap.Poller, 0, len(cfg.Mailbox))
	for _, mb := range cfg.Mailbox {
		p := imap.New(imapConfig(mb, cfg.Limits.MaxMessageBytes), acc, db, log.With("component", "imap", "mailbox", mb.Name))
		pollers = append(pollers, p)
		intakeWG.Go(func() { _ = p.Run(intakeCtx) })
	}

	// The CSR API.
	api := web.New(web.Options{
		Store: db, Tokens: cfg.HTTP.Tokens, Log: log.With("component", "http"), Now: time.Now, Lease: cfg.HTTP.Lease,
		Ready: func(ctx context.Context) error { return ready(ctx, db, rc, pollers) },
	})
	root := http.NewServeMux()
	root.Handle("/", api)
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	root.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}))
	if err := intakeRoutes(root, cfg, acc, reg, log); err != nil {
		return err
	}
	hs := &http.Server{
		Handler: root, ReadHeaderTimeout: cfg.HTTP.ReadHeaderTimeout, ReadTimeout: cfg.HTTP.ReadTimeout,
		WriteTimeout: cfg.HTTP.WriteTimeout, IdleTimeout: cfg.HTTP.IdleTimeout,
		ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("CSR API listening", "addr", ln.Addr().String(), "mailboxes", len(cfg.Mailbox))
	if len(cfg.HTTP.Tokens) == 0 {
		log.Warn("no API tokens configured (http.tokens): the /api/v1 routes refuse every request")
	}
	if len(cfg.Mailbox) == 0 {
		log.Warn("no mailboxes configured: nothing is polled; add one under mailboxes (see config/example.yaml)")
	}
	httpErr := make(chan error, 1)
	go func() { httpErr <- hs.Serve(ln) }()

	var runErr error
	select {
	case <-ctx.Done():
		log.Info("shutting down: stopping intake")
	case runErr = <-httpErr:
		log.Error("http server stopped; shutting down", "err", runErr)
		runErr = fmt.Errorf("http server: %w", runErr)
	}
	// Stop intake first so nothing new arrives, then the API, then drain
	// the workers (deferred srv.Shutdown), then close the store.
	stopIntake()
	intakeWG.Wait()
	shctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	_ = hs.Shutdown(shctx)
	stopBG()
	log.Info("draining in-flight tasks")
	return runErr
}

// ready is the readiness check: the store and Redis answer.
func ready(ctx context.Context, db interface{ Ping(context.Context) error }, rc redis.UniversalClient, pollers []*imap.Poller) error {
	var problems []string
	if err := db.Ping(ctx); err != nil {
		problems = append(problems, "store: "+err.Error())
	}
	if err := rc.Ping(ctx).Err(); err != nil {
		problems = append(problems, "redis: "+err.Error())
	}
	for _, p := range pollers {
		if st := p.Status(); st.LastError != "" && !st.Connected {
			problems = append(problems, st.Source+": "+st.LastError)
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

func newLogger(c config.Log, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// loadSecret returns the HMAC secret for our Message-IDs: the configured
// one, or one generated once and kept in <data_dir>/secret.
func loadSecret(cfg *config.Config) ([]byte, error) {
	if cfg.Instance.Secret != "" {
		return []byte(cfg.Instance.Secret), nil
	}
	path := filepath.Join(cfg.DataDir, "secret")
	b, err := os.ReadFile(path)
	if err == nil && len(strings.TrimSpace(string(b))) >= 32 {
		return []byte(strings.TrimSpace(string(b))), nil
	}
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read secret: %w", err)
	}
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, fmt.Errorf("generate secret: %w", err)
	}
	s := hex.EncodeToString(raw)
	if err := os.WriteFile(path, []byte(s+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("write secret: %w", err)
	}
	return []byte(s), nil
}

func newSender(cfg *config.Config, log *slog.Logger) (pipeline.Sender, error) {
	if cfg.SMTP.Host == "" {
		dir := cfg.SMTP.OutboxDir
		if dir == "" {
			dir = filepath.Join(cfg.DataDir, "outbox")
		}
		log.Info("no SMTP server configured: acknowledgements are written to the outbox", "dir", dir)
		ob, err := mailer.NewOutbox(dir)
		if err != nil {
			return nil, fmt.Errorf("outbox: %w", err)
		}
		return ob, nil
	}
	s, err := mailer.NewSMTP(mailer.SMTPConfig{
		Host: cfg.SMTP.Host, Port: cfg.SMTP.Port, TLS: cfg.SMTP.TLS,
		Username: cfg.SMTP.Username, Password: cfg.SMTP.Password,
		InsecureSkipVerify: cfg.SMTP.InsecureSkipVerify, HELO: cfg.SMTP.HELO, Timeout: cfg.SMTP.Timeout,
		PoolSize: cfg.SMTP.PoolSize, MaxPerConn: cfg.SMTP.MaxPerConn,
	}, log.With("component", "smtp"))
	if err != nil {
		return nil, fmt.Errorf("smtp: %w", err)
	}
	return s, nil
}

func imapConfig(mb config.Mailbox, maxBytes int64) imap.Config {
	return imap.Config{
		Name: mb.Name, Host: mb.Host, Port: mb.Port, TLS: mb.TLS,
		Username: mb.Username, Password: mb.Password, InsecureSkipVerify: mb.InsecureSkipVerify,
		Folder: mb.Folder, Intent: message.Intent(mb.Intent), Queue: mb.Queue,
		MoveTo: mb.MoveTo, Flag: mb.Flag, PollInterval: mb.PollInterval,
		IdleRestart: mb.IdleRestart, DisableIdle: mb.DisableIdle,
		// Messages over the limit are flagged for a person without being
		// downloaded.
		MaxBytes: maxBytes,
	}
}

func companyName(from string) string {
	if i := strings.Index(from, "<"); i > 0 {
		return strings.Trim(strings.TrimSpace(from[:i]), `"`)
	}
	return "Frontdesk"
}
