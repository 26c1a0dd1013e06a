package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/headroom-dev/headroom/api/agentproto"
	"github.com/headroom-dev/headroom/internal/auth"
)

// cliFlags are the flags of the commands that talk to a master.
type cliFlags struct {
	masters   string
	tokenFile string
	caFile    string
	output    string
	// defaultTokenFile is the operator token of a master on this host
	// (its default --data-dir), used when no other is given.
	defaultTokenFile string
	// token is where the credential sent came from, for the hint on a
	// 401 or 403.
	token tokenSource
}

// tokenSource is the file a credential was read from and why that one.
type tokenSource struct {
	path, from string
}

func (f *cliFlags) register(cmd *cobra.Command) {
	def := os.Getenv("HEADROOM_MASTER")
	if def == "" {
		def = "http://127.0.0.1:5050"
	}
	cmd.PersistentFlags().StringVar(&f.masters, "master", def, "comma-separated master URLs (env HEADROOM_MASTER); standbys redirect to the leader")
	cmd.PersistentFlags().StringVar(&f.tokenFile, "token-file", "", "file holding the bearer token to send (default: env HEADROOM_TOKEN_FILE, else "+defaultOperatorTokenFile()+" when readable)")
	f.defaultTokenFile = defaultOperatorTokenFile()
	cmd.PersistentFlags().StringVar(&f.caFile, "ca-file", "", "PEM CA certificate to trust when the masters serve TLS")
	cmd.PersistentFlags().StringVarP(&f.output, "output", "o", "table", "output format: table or json")
}

func defaultOperatorTokenFile() string {
	return auth.TokenFile(credentialsDir(defaultMasterDataDir), auth.Operator)
}

// findToken reads the credential to send: --token-file, else
// HEADROOM_TOKEN_FILE, else the default operator token when this user can
// read it; none at all is not an error (an --insecure master needs none).
func (f *cliFlags) findToken(getenv func(string) string) (string, tokenSource, error) {
	if f.tokenFile != "" {
		t, err := readToken(f.tokenFile)
		return t, tokenSource{f.tokenFile, "--token-file"}, err
	}
	if p := getenv("HEADROOM_TOKEN_FILE"); p != "" {
		t, err := auth.ReadToken(p)
		if err != nil {
			return "", tokenSource{}, fmt.Errorf("HEADROOM_TOKEN_FILE: %w; point it at a token file of this master (a master writes its operator token to DATA_DIR/credentials/operator.token on first start) or unset it", err)
		}
		return t, tokenSource{p, "HEADROOM_TOKEN_FILE"}, nil
	}
	if f.defaultTokenFile != "" {
		if t, err := auth.ReadToken(f.defaultTokenFile); err == nil {
			return t, tokenSource{f.defaultTokenFile, "the default"}, nil
		}
	}
	return "", tokenSource{}, nil
}

// explain adds to a 401 or 403 which credential was sent and how to send
// another.
func (f *cliFlags) explain(err error) error {
	var se *agentproto.StatusError
	if !errors.As(err, &se) {
		return err
	}
	how := "pass the operator token with --token-file FILE or HEADROOM_TOKEN_FILE=FILE (a master creates it as DATA_DIR/credentials/operator.token)"
	switch {
	case se.Code == http.StatusUnauthorized && f.token.path == "":
		return fmt.Errorf("%w\nno credential was sent: no --token-file, HEADROOM_TOKEN_FILE unset, %s not readable; %s", err, f.defaultTokenFile, how)
	case se.Code == http.StatusUnauthorized:
		return fmt.Errorf("%w\nthe master does not know the token in %s (%s); %s", err, f.token.path, f.token.from, how)
	case se.Code == http.StatusForbidden && f.token.path != "":
		return fmt.Errorf("%w\nthe token in %s (%s) has a role that may not do this; %s", err, f.token.path, f.token.from, how)
	}
	return err
}

func (f *cliFlags) client() (*agentproto.Client, error) {
	token, src, err := f.findToken(os.Getenv)
	if err != nil {
		return nil, err
	}
	f.token = src
	c, err := agentproto.NewClient(f.masters, token)
	if err != nil {
		return nil, err
	}
	if c.HTTP, err = httpClient("ca-file", f.caFile, 30*time.Second); err != nil {
		return nil, err
	}
	return c, nil
}

func (f *cliFlags) checkOutput() error {
	if f.output != "table" && f.output != "json" {
		return fmt.Errorf("--output: want table or json, got %q", f.output)
	}
	return nil
}

// run is the RunE of a command that talks to the masters: it checks
// --output, builds the client and hands both to fn.
func (f *cliFlags) run(fn func(ctx context.Context, c *agentproto.Client, cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := f.checkOutput(); err != nil {
			return err
		}
		c, err := f.client()
		if err != nil {
			return err
		}
		return f.explain(reachError(c.URLs, fn(cmd.Context(), c, cmd, args)))
	}
}

// unreachableError is a master that did not answer at all.
type unreachableError struct {
	masters []string
	reason  string
	err     error
}

func (e *unreachableError) Error() string {
	what := "master " + e.masters[0]
	if len(e.masters) > 1 {
		what = "any master of " + strings.Join(e.masters, ", ")
	}
	return fmt.Sprintf("cannot reach %s (%s): is headroom master running? set --master or HEADROOM_MASTER", what, e.reason)
}

func (e *unreachableError) Unwrap() error { return e.err }

// reachError turns a transport failure (no answer from any master) into
// one that says which masters were tried and what to check; answers from
// a master, and every other error, pass unchanged.
func reachError(masters []string, err error) error {
	var se *agentproto.StatusError
	var ue *url.Error
	if err == nil || errors.As(err, &se) || !errors.As(err, &ue) {
		return err
	}
	var reason string
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		reason = "connection refused"
	case ue.Timeout():
		reason = "timed out"
	default:
		reason = ue.Err.Error()
	}
	return &unreachableError{masters: masters, reason: reason, err: err}
}

// readDefinition reads a JSON definition from a file, or from stdin for
// "-" (at most 1 MiB, what the masters accept).
func readDefinition(cmd *cobra.Command, name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(io.LimitReader(cmd.InOrStdin(), 1<<20))
	}
	return os.ReadFile(name)
}

// show prints v as JSON, or as a table through rows when -o table.
func (f *cliFlags) show(w io.Writer, v any, header []string, rows func() [][]string) error {
	if f.output == "json" {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		// For a terminal and jq, not a browser: "<= 1024" stays readable.
		enc.SetEscapeHTML(false)
		return enc.Encode(v)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows() {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// cliApp is what the CLI reads of GET /v2/apps.
type cliApp struct {
	ID           string  `json:"id"`
	CPUs         float64 `json:"cpus"`
	Mem          float64 `json:"mem"`
	Instances    int     `json:"instances"`
	TasksRunning int     `json:"tasksRunning"`
	TasksStaged  int     `json:"tasksStaged"`
	Waiting      int     `json:"tasksWaiting"`
	Revocable    bool    `json:"revocable"`
	Version      string  `json:"version"`
	Reason       string  `json:"reason"`
}

func newAppsCommand() *cobra.Command {
	f := &cliFlags{}
	cmd := &cobra.Command{Use: "apps", Short: "Manage long-running apps on the master (/v2/apps)"}
	f.register(cmd)
	cmd.AddCommand(&cobra.Command{
		Use: "deploy FILE", Short: "Create or update an app from a Marathon-style JSON file ('-' reads stdin)",
		Args: cobra.ExactArgs(1),
		RunE: f.run(func(ctx context.Context, c *agentproto.Client, cmd *cobra.Command, args []string) error {
			data, err := readDefinition(cmd, args[0])
			if err != nil {
				return fmt.Errorf("reading the app: %w", err)
			}
			var head struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal(data, &head); err != nil {
				return fmt.Errorf("%s: malformed JSON: %w", args[0], err)
			}
			id := strings.Trim(head.ID, "/")
			if id == "" {
				return fmt.Errorf("%s: the app has no id", args[0])
			}
			var out map[string]any
			// strict: a file a person wrote is refused for a field
			// headroom would ignore, where a Marathon client's document
			// gets a warning.
			if err := c.Do(ctx, "PUT", "/v2/apps/"+id+"?strict=true", data, &out); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "app /%s deployed (deployment %v)\n", id, out["deploymentId"])
			return nil
		}),
	})
	cmd.AddCommand(&cobra.Command{
		Use: "ls", Short: "List apps", Args: cobra.NoArgs,
		RunE: f.run(func(ctx context.Context, c *agentproto.Client, cmd *cobra.Command, _ []string) error {
			var out struct {
				Apps []cliApp `json:"apps"`
			}
			if err := c.Do(ctx, "GET", "/v2/apps", nil, &out); err != nil {
				return err
			}
			return f.show(cmd.OutOrStdout(), out, []string{"ID", "INSTANCES", "RUNNING", "STAGED", "WAITING", "CPUS", "MEM", "REVOCABLE", "REASON"}, func() [][]string {
				var rows [][]string
				for _, a := range out.Apps {
					rows = append(rows, []string{"/" + a.ID, strconv.Itoa(a.Instances), strconv.Itoa(a.TasksRunning),
						strconv.Itoa(a.TasksStaged), strconv.Itoa(a.Waiting), fmt.Sprint(a.CPUs), fmt.Sprint(a.Mem), strconv.FormatBool(a.Revocable), a.Reason})
				}
				return rows
			})
		}),
	})
	cmd.AddCommand(&cobra.Command{
		Use: "scale ID N", Short: "Set an app's instance count", Args: cobra.ExactArgs(2),
		RunE: f.run(func(ctx context.Context, c *agentproto.Client, cmd *cobra.Command, args []string) error {
			n, err := strconv.Atoi(args[1])
			if err != nil || n < 0 {
				return fmt.Errorf("N: want a non-negative integer, got %q", args[1])
			}
			if err := c.Do(ctx, "PUT", "/v2/apps/"+strings.Trim(args[0], "/"), map[string]int{"instances": n}, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "app %s scaled to %d\n", args[0], n)
			return nil
		}),
	})
	cmd.AddCommand(&cobra.Command{
		Use: "restart ID", Short: "Replace every task of an app", Args: cobra.ExactArgs(1),
		RunE: f.run(func(ctx context.Context, c *agentproto.Client, cmd *cobra.Command, args []string) error {
			if err := c.Do(ctx, "POST", "/v2/apps/"+strings.Trim(args[0], "/")+"/restart", nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "app %s restarting\n", args[0])
			return nil
		}),
	})
	cmd.AddCommand(&cobra.Command{
		Use: "rm ID", Short: "Delete an app and kill its tasks", Args: cobra.ExactArgs(1),
		RunE: f.run(func(ctx context.Context, c *agentproto.Client, cmd *cobra.Command, args []string) error {
			if err := c.Do(ctx, "DELETE", "/v2/apps/"+strings.Trim(args[0], "/"), nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "app %s deleted\n", args[0])
			return nil
		}),
	})
	return cmd
}

// cliAgent is what the label command reads of GET /api/v1/agents.
type cliAgent struct {
	ID       string            `json:"id"`
	Hostname string            `json:"hostname"`
	Dynamic  map[string]string `json:"dynamic_attributes"`
}

func newAgentsCommand() *cobra.Command {
	f := &cliFlags{}
	cmd := &cobra.Command{Use: "agents", Short: "Inspect the master's agent registry"}
	f.register(cmd)
	cmd.AddCommand(&cobra.Command{
		Use: "ls", Short: "List agents", Args: cobra.NoArgs,
		RunE: f.run(func(ctx context.Context, c *agentproto.Client, cmd *cobra.Command, _ []string) error {
			var agents []struct {
				ID        string `json:"id"`
				Hostname  string `json:"hostname"`
				State     string `json:"state"`
				Tasks     int    `json:"tasks"`
				Revocable struct {
					CPUs     float64 `json:"cpus"`
					MemBytes int64   `json:"mem_bytes"`
				} `json:"revocable"`
				Estimate struct {
					CPUReason string `json:"cpu_reason"`
				} `json:"estimate"`
			}
			if err := c.Do(ctx, "GET", "/api/v1/agents", nil, &agents); err != nil {
				return err
			}
			return f.show(cmd.OutOrStdout(), agents, []string{"ID", "HOSTNAME", "STATE", "TASKS", "HARVEST_CPUS", "HARVEST_MEM", "CPU_BOUND_BY"}, func() [][]string {
				var rows [][]string
				for _, a := range agents {
					rows = append(rows, []string{a.ID, a.Hostname, a.State, strconv.Itoa(a.Tasks),
						strconv.FormatFloat(a.Revocable.CPUs, 'f', 2, 64), fmt.Sprintf("%.1fGiB", float64(a.Revocable.MemBytes)/(1<<30)), a.Estimate.CPUReason})
				}
				return rows
			})
		}),
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "label HOST KEY=VALUE|KEY- ...",
		Short: "Set (KEY=VALUE) or remove (KEY-) dynamic attributes of a host, applied at once",
		Long: `Set or remove dynamic attributes of a host. They are kept in etcd per
hostname, overlay the agent's own attributes, reach the agent without a
restart, and survive agent restarts and master failovers. An app instance
whose constraint no longer holds is moved to a matching agent.`,
		Args: cobra.MinimumNArgs(2),
		RunE: f.run(func(ctx context.Context, c *agentproto.Client, cmd *cobra.Command, args []string) error {
			var agents []cliAgent
			if err := c.Do(ctx, "GET", "/api/v1/agents", nil, &agents); err != nil {
				return err
			}
			i := slices.IndexFunc(agents, func(a cliAgent) bool {
				return a.Hostname == args[0] || a.ID == args[0]
			})
			if i < 0 {
				return fmt.Errorf("no agent with hostname or id %q on this master (headroom agents ls lists them)", args[0])
			}
			dyn := maps.Clone(agents[i].Dynamic)
			if dyn == nil {
				dyn = map[string]string{}
			}
			for _, kv := range args[1:] {
				if k, ok := strings.CutSuffix(kv, "-"); ok && !strings.Contains(kv, "=") {
					delete(dyn, k)
					continue
				}
				k, v, ok := strings.Cut(kv, "=")
				if !ok || k == "" {
					return fmt.Errorf("%q: want KEY=VALUE or KEY-", kv)
				}
				dyn[k] = v
			}
			var out map[string]any
			if err := c.Do(ctx, "PUT", "/api/v1/agents/"+url.PathEscape(agents[i].ID)+"/attributes", dyn, &out); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "host %s attributes: %v\n", agents[i].Hostname, out["attributes"])
			return nil
		}),
	})
	return cmd
}

func newTasksCommand() *cobra.Command {
	f := &cliFlags{}
	cmd := &cobra.Command{Use: "tasks", Short: "List and kill tasks"}
	f.register(cmd)
	cmd.AddCommand(&cobra.Command{
		Use: "ls", Short: "List tasks", Args: cobra.NoArgs,
		RunE: f.run(func(ctx context.Context, c *agentproto.Client, cmd *cobra.Command, _ []string) error {
			var tasks []struct {
				ID        string `json:"id"`
				Framework string `json:"framework_id"`
				Hostname  string `json:"hostname"`
				State     string `json:"state"`
				Reason    string `json:"reason"`
				Revocable bool   `json:"revocable"`
			}
			if err := c.Do(ctx, "GET", "/api/v1/tasks", nil, &tasks); err != nil {
				return err
			}
			return f.show(cmd.OutOrStdout(), tasks, []string{"ID", "FRAMEWORK", "HOST", "STATE", "REASON", "REVOCABLE"}, func() [][]string {
				var rows [][]string
				for _, t := range tasks {
					rows = append(rows, []string{t.ID, t.Framework, t.Hostname, t.State, t.Reason, strconv.FormatBool(t.Revocable)})
				}
				return rows
			})
		}),
	})
	cmd.AddCommand(&cobra.Command{
		Use: "kill ID", Short: "Kill a task (its framework decides whether to replace it)", Args: cobra.ExactArgs(1),
		RunE: f.run(func(ctx context.Context, c *agentproto.Client, cmd *cobra.Command, args []string) error {
			if err := c.Do(ctx, "POST", "/api/v1/tasks/"+url.PathEscape(args[0])+"/kill", nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "task %s killed\n", args[0])
			return nil
		}),
	})
	return cmd
}

func newLeaderCommand() *cobra.Command {
	f := &cliFlags{}
	cmd := &cobra.Command{
		Use: "leader", Short: "Print the elected master", Args: cobra.NoArgs,
		RunE: f.run(func(ctx context.Context, c *agentproto.Client, cmd *cobra.Command, _ []string) error {
			var out struct {
				Leader string `json:"leader"`
				Error  string `json:"error,omitempty"`
			}
			if err := c.Do(ctx, "GET", "/api/v1/leader", nil, &out); err != nil {
				return err
			}
			if f.output == "json" {
				return f.show(cmd.OutOrStdout(), out, nil, nil)
			}
			if out.Leader == "" {
				return fmt.Errorf("no leader elected: %s", out.Error)
			}
			fmt.Fprintln(cmd.OutOrStdout(), out.Leader)
			return nil
		}),
	}
	f.register(cmd)
	return cmd
}
