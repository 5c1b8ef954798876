package broker

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"strconv"
	"strings"

	jitv1 "github.com/jitbench/jitbench/reference/api/jit/v1"
)

// Page sizes of ListRequests.
const (
	// DefaultPageSize is used when a listing asks for none.
	DefaultPageSize = 100
	// MaxPageSize caps a page, so one call cannot copy the whole broker.
	MaxPageSize = 1000
)

// GetRequest returns one request as caller may see it: the grant only for
// its requester, and NOT_FOUND for anyone who is neither the requester nor
// an approver, so existence does not leak.
func (b *Broker) GetRequest(_ context.Context, caller Caller, id string) (*jitv1.AccessRequest, error) {
	if err := checkCaller(caller); err != nil {
		return nil, err
	}
	done, err := b.begin()
	if err != nil {
		return nil, err
	}
	defer done()
	e := b.entry(id)
	if e == nil {
		return nil, notFound(id)
	}
	req := e.current()
	if !b.canSee(req, caller) {
		return nil, notFound(id)
	}
	return view(req, caller), nil
}

// ListRequests lists the requests caller may see, newest first, filtered by
// state and requester, one page at a time.
func (b *Broker) ListRequests(_ context.Context, caller Caller, in *jitv1.ListRequestsRequest) (*jitv1.ListRequestsResponse, error) {
	if err := checkCaller(caller); err != nil {
		return nil, err
	}
	done, err := b.begin()
	if err != nil {
		return nil, err
	}
	defer done()
	size := int(in.GetPageSize())
	switch {
	case size < 0:
		return nil, fail(ErrInvalidArgument, "page_size must not be negative, got %d", size)
	case size == 0:
		size = DefaultPageSize
	}
	size = min(size, MaxPageSize)
	var from *cursor
	if in.GetPageToken() != "" {
		c, err := parseCursor(in.GetPageToken())
		if err != nil {
			return nil, err
		}
		from = &c
	}

	var match []*jitv1.AccessRequest
	for _, e := range b.snapshot() {
		r := e.current()
		switch {
		case in.GetState() != jitv1.State_STATE_UNSPECIFIED && r.GetState() != in.GetState():
		case in.GetRequester() != "" && r.GetRequester() != in.GetRequester():
		case from != nil && !from.before(r):
		case !b.canSee(r, caller):
		default:
			match = append(match, r)
		}
	}
	slices.SortFunc(match, func(x, y *jitv1.AccessRequest) int { return cursorOf(y).compare(cursorOf(x)) })

	out := &jitv1.ListRequestsResponse{}
	if len(match) > size {
		match = match[:size]
		out.NextPageToken = cursorOf(match[size-1]).String()
	}
	out.Requests = make([]*jitv1.AccessRequest, len(match))
	for i, r := range match {
		out.Requests[i] = view(r, caller)
	}
	return out, nil
}

// cursor is a position in the newest-first order: creation time, then id
// to break ties. A page token is its opaque encoding, so a listing resumes
// correctly however many requests were created since.
type cursor struct {
	created int64
	id      string
}

func cursorOf(r *jitv1.AccessRequest) cursor {
	return cursor{created: r.GetCreatedAt().AsTime().UnixNano(), id: r.GetId()}
}

// compare orders cursors oldest first.
func (c cursor) compare(o cursor) int {
	if c.created != o.created {
		if c.created < o.created {
			return -1
		}
		return 1
	}
	return strings.Compare(c.id, o.id)
}

// before reports whether r comes after c in the newest-first order, i.e. belongs to a later page.
func (c cursor) before(r *jitv1.AccessRequest) bool { return cursorOf(r).compare(c) < 0 }

// String is the page token.
func (c cursor) String() string {
	return base64.RawURLEncoding.EncodeToString(fmt.Appendf(nil, "%d/%s", c.created, c.id))
}

func parseCursor(token string) (cursor, error) {
	bad := fail(ErrInvalidArgument, "page_token is not one this broker issued")
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil {
		return cursor{}, bad
	}
	ns, id, ok := strings.Cut(string(raw), "/")
	if !ok || id == "" {
		return cursor{}, bad
	}
	created, err := strconv.ParseInt(ns, 10, 64)
	if err != nil {
		return cursor{}, bad
	}
	return cursor{created: created, id: id}, nil
}
