package conformance

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
)

// The revocation hooks a config can name instead of a broker: the suite
// signs a grant itself, checks the target accepts it, asks the hook to
// revoke its jti, and expects the target to refuse it from then on.

// jtiPlaceholder is replaced by the grant's id in a hook's arguments or URL.
const jtiPlaceholder = "${jti}"

// CommandRevoker revokes a grant by running a command: ${jti} in any
// argument is the grant's id, and exit status 0 means it was revoked.
type CommandRevoker struct {
	// Args are the program and its arguments.
	Args []string
	// Dir is the directory it runs in (the config file's).
	Dir string
}

// Revoke runs the command for id.
func (c CommandRevoker) Revoke(ctx context.Context, id string) error {
	if len(c.Args) == 0 {
		return fmt.Errorf("the revoke command is empty")
	}
	args := make([]string, len(c.Args))
	for i, a := range c.Args {
		args[i] = strings.ReplaceAll(a, jtiPlaceholder, id)
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Dir = c.Dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("revoke command %s: %w%s", args[0], err, lastLine(out.Bytes()))
	}
	return nil
}

// HTTPRevoker revokes a grant with a POST to URL, ${jti} in it being the
// grant's id; a 2xx answer means it was revoked.
type HTTPRevoker struct {
	// URL is where to POST.
	URL string
}

// Revoke POSTs for id.
func (h HTTPRevoker) Revoke(ctx context.Context, id string) error {
	// Escaped for where the placeholder sits: in the path a space is %20, in the query +.
	path, query, hasQuery := strings.Cut(h.URL, "?")
	target := strings.ReplaceAll(path, jtiPlaceholder, url.PathEscape(id))
	if hasQuery {
		target += "?" + strings.ReplaceAll(query, jtiPlaceholder, url.QueryEscape(id))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, nil)
	if err != nil {
		return fmt.Errorf("revoke url: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("revoke url: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("revoke url answered %s%s", resp.Status, lastLine(body))
	}
	return nil
}

// lastLine is the last non-empty line of a hook's output, for an error message: ": line".
func lastLine(out []byte) string {
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	last := strings.TrimSpace(lines[len(lines)-1])
	if last == "" {
		return ""
	}
	if len(last) > 200 {
		last = last[:200] + "…"
	}
	return ": " + excerpt(last, nil)
}
