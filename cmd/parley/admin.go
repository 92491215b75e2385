package main

import (
	"fmt"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/parleyhq/parley/internal/account"
	"github.com/parleyhq/parley/internal/app"
	"github.com/parleyhq/parley/internal/domain"
	"github.com/parleyhq/parley/internal/jobs"
	"github.com/parleyhq/parley/internal/store"
)

// adminEnv is an open, migrated database for an administration command. Its
// job client only enqueues: work runs in `parley serve`.
type adminEnv struct {
	store    app.Store
	accounts *account.Service
}

func (e *adminEnv) close() { _ = e.store.Close() }

func (c *cli) open(cmd *cobra.Command) (*adminEnv, error) {
	cfg, err := c.config(cmd)
	if err != nil {
		return nil, err
	}
	if err := cfg.Finish(); err != nil {
		return nil, err
	}
	// This process only enqueues: the job workers never run, so their
	// dependencies are never bound.
	clock, ids := domain.SystemClock{}, domain.UUIDv7{}
	s, err := app.OpenStore(cmd.Context(), cfg, cfg.Logger(c.stderr), &jobs.Bound[jobs.Deps]{}, false)
	if err != nil {
		return nil, err
	}
	if err := s.Migrate(cmd.Context()); err != nil {
		s.Close()
		return nil, err
	}
	return &adminEnv{store: s, accounts: account.New(s, clock, ids, cfg.SessionTTL)}, nil
}

// openProject opens the database and finds the project named by --project
// (an ID or a name).
func (c *cli) openProject(cmd *cobra.Command, idOrName string) (*adminEnv, domain.Project, error) {
	env, err := c.open(cmd)
	if err != nil {
		return nil, domain.Project{}, err
	}
	p, err := env.accounts.ResolveProject(cmd.Context(), idOrName)
	if err != nil {
		env.close()
		return nil, p, fmt.Errorf("--project: %w", err)
	}
	return env, p, nil
}

func (c *cli) projectCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "project", Short: "Manage projects"}
	var name, owner string
	create := &cobra.Command{
		Use:   "create --name NAME",
		Short: "Create a project and print its ID",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			env, err := c.open(cmd)
			if err != nil {
				return err
			}
			defer env.close()
			ownerID := ""
			if owner != "" {
				u, err := env.store.UserGetByEmail(cmd.Context(), owner)
				if err != nil {
					return fmt.Errorf("--owner: %w", err)
				}
				ownerID = u.ID
			}
			p, err := env.accounts.CreateProject(cmd.Context(), name, nil, ownerID, "cli")
			if err != nil {
				return err
			}
			fmt.Fprintln(c.stdout, p.ID)
			return nil
		},
	}
	create.Flags().StringVar(&name, "name", "", "project name (unique)")
	create.Flags().StringVar(&owner, "owner", "", "email of an existing user to make owner")
	_ = create.MarkFlagRequired("name")
	list := &cobra.Command{
		Use:   "list",
		Short: "List projects",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			env, err := c.open(cmd)
			if err != nil {
				return err
			}
			defer env.close()
			tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tSTATUS\tCREATED")
			page := store.Page{Limit: store.MaxPageSize}
			for {
				l, err := env.store.ProjectList(cmd.Context(), store.ProjectListParams{Page: page})
				if err != nil {
					return err
				}
				for _, p := range l.Items {
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", p.ID, p.Name, p.Status, p.CreatedAt.Format("2006-01-02 15:04"))
				}
				if l.Next == "" {
					break
				}
				page.After = l.Next
			}
			return tw.Flush()
		},
	}
	cmd.AddCommand(create, list)
	return cmd
}

func (c *cli) tokenCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "token", Short: "Manage project API tokens"}
	var project, name, role string
	create := &cobra.Command{
		Use:   "create --project ID|NAME --name NAME",
		Short: "Create an API token; prints only the token, so scripts can capture it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			env, p, err := c.openProject(cmd, project)
			if err != nil {
				return err
			}
			defer env.close()
			t, err := env.accounts.CreateToken(cmd.Context(), p.ID, name, domain.Role(role), "cli")
			if err != nil {
				return err
			}
			fmt.Fprintln(c.stdout, t.Secret)
			return nil
		},
	}
	create.Flags().StringVar(&project, "project", "", "project ID or name")
	create.Flags().StringVar(&name, "name", "", "a name to recognise the token by")
	create.Flags().StringVar(&role, "role", "owner", "owner, editor or viewer")
	_ = create.MarkFlagRequired("project")
	_ = create.MarkFlagRequired("name")

	var revokeProject string
	revoke := &cobra.Command{
		Use:   "revoke --project ID|NAME TOKEN_ID",
		Short: "Revoke an API token",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			env, p, err := c.openProject(cmd, revokeProject)
			if err != nil {
				return err
			}
			defer env.close()
			t, err := env.accounts.RevokeToken(cmd.Context(), p.ID, args[0], "cli")
			if err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "revoked token %s (%s)\n", t.ID, t.Name)
			return nil
		},
	}
	revoke.Flags().StringVar(&revokeProject, "project", "", "project ID or name")
	_ = revoke.MarkFlagRequired("project")

	var listProject string
	list := &cobra.Command{
		Use:   "list --project ID|NAME",
		Short: "List a project's tokens (never their secrets)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			env, p, err := c.openProject(cmd, listProject)
			if err != nil {
				return err
			}
			defer env.close()
			l, err := env.store.TokenList(cmd.Context(), store.TokenListParams{ProjectID: p.ID, Page: store.Page{Limit: store.MaxPageSize}})
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tNAME\tPREFIX\tROLE\tLAST USED\tREVOKED")
			for _, t := range l.Items {
				fmt.Fprintf(tw, "%s\t%s\t%s…\t%s\t%s\t%s\n", t.ID, t.Name, t.Prefix, t.Role, timeOrDash(t.LastUsedAt), timeOrDash(t.RevokedAt))
			}
			return tw.Flush()
		},
	}
	list.Flags().StringVar(&listProject, "project", "", "project ID or name")
	_ = list.MarkFlagRequired("project")
	cmd.AddCommand(create, revoke, list)
	return cmd
}

func (c *cli) userCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "user", Short: "Manage users"}
	var email, password, name, project, role string
	var admin bool
	create := &cobra.Command{
		Use:   "create --email EMAIL [--password PASSWORD]",
		Short: "Create a user who can log in to the web UI",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			env, err := c.open(cmd)
			if err != nil {
				return err
			}
			defer env.close()
			generated := password == ""
			if generated {
				password = account.GeneratePassword()
			}
			u, err := env.accounts.CreateUser(cmd.Context(), email, name, password, admin)
			if err != nil {
				return err
			}
			if project != "" {
				p, err := env.accounts.ResolveProject(cmd.Context(), project)
				if err != nil {
					return fmt.Errorf("--project: %w", err)
				}
				if _, err := env.accounts.AddMember(cmd.Context(), p.ID, u.Email, domain.Role(role), "cli"); err != nil {
					return err
				}
			}
			fmt.Fprintf(c.stdout, "created user %s (%s)\n", u.Email, u.ID)
			if generated {
				fmt.Fprintf(c.stdout, "password: %s\n", password)
			}
			return nil
		},
	}
	create.Flags().StringVar(&email, "email", "", "login email")
	create.Flags().StringVar(&password, "password", "", "password (at least 10 characters); generated and printed when omitted")
	create.Flags().StringVar(&name, "name", "", "display name")
	create.Flags().BoolVar(&admin, "admin", false, "make the user an instance admin")
	create.Flags().StringVar(&project, "project", "", "add the user to this project (ID or name)")
	create.Flags().StringVar(&role, "role", "editor", "role in --project: owner, editor or viewer")
	_ = create.MarkFlagRequired("email")
	cmd.AddCommand(create)
	return cmd
}

func timeOrDash(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format("2006-01-02 15:04")
}
