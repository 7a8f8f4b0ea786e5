package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"strings"
	"testing"
	"unicode/utf8"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	noflyv1 "github.com/nofly-project/nofly/api/nofly/v1"
)

// hostileText is what a zone file loaded before control characters were
// refused, or a server of an older version, might send: it would return
// the cursor, clear the line, move up, turn green and write its own line.
const hostileText = "call tower\r\x1b[2K\x1b[1A\x1b[32m\nNO CONDITIONS - FLY FREELY\a\x7f\u009b2J\u202eDEIRFEBA\u2066\u2028\u200b\ufeff"

// fill sets every string field of m, and of the messages it holds, to
// hostileText (next_page_token excepted: the CLI would page forever).
func fill(m protoreflect.Message, depth int) {
	if depth > 6 {
		return
	}
	fields := m.Descriptor().Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		switch {
		case fd.Name() == "next_page_token" || fd.IsMap():
		case fd.Kind() == protoreflect.StringKind && fd.IsList():
			l := m.Mutable(fd).List()
			l.Append(protoreflect.ValueOfString(hostileText))
			l.Append(protoreflect.ValueOfString(hostileText))
		case fd.Kind() == protoreflect.StringKind:
			m.Set(fd, protoreflect.ValueOfString(hostileText))
		case fd.Kind() == protoreflect.MessageKind && fd.IsList():
			l := m.Mutable(fd).List()
			e := l.NewElement()
			fill(e.Message(), depth+1)
			l.Append(e)
		case fd.Kind() == protoreflect.MessageKind && fd.ContainingOneof() == nil:
			fill(m.Mutable(fd).Message(), depth+1)
		}
	}
}

func hostile[M proto.Message](m M) M {
	fill(m.ProtoReflect(), 0)
	return m
}

// hostileServer answers every call with texts full of terminal controls.
type hostileServer struct {
	noflyv1.UnimplementedGeofenceServiceServer
	noflyv1.UnimplementedExemptionServiceServer
}

func (hostileServer) CheckPosition(context.Context, *noflyv1.CheckPositionRequest) (*noflyv1.CheckPositionResponse, error) {
	r := hostile(&noflyv1.CheckPositionResponse{})
	r.Verdict = noflyv1.Verdict_VERDICT_EXEMPTED
	return r, nil
}

func (hostileServer) ListZones(context.Context, *noflyv1.ListZonesRequest) (*noflyv1.ListZonesResponse, error) {
	return hostile(&noflyv1.ListZonesResponse{}), nil
}

func (hostileServer) GetZone(_ context.Context, req *noflyv1.GetZoneRequest) (*noflyv1.GetZoneResponse, error) {
	if req.GetId() == "missing" {
		// An older server echoing a megabyte of the request back.
		return nil, status.Error(codes.NotFound, "zone \""+strings.Repeat(hostileText, 30_000)+"\" not found")
	}
	return hostile(&noflyv1.GetZoneResponse{}), nil
}

func (hostileServer) GetExemption(context.Context, *noflyv1.GetExemptionRequest) (*noflyv1.GetExemptionResponse, error) {
	return hostile(&noflyv1.GetExemptionResponse{}), nil
}

func (hostileServer) ListExemptions(context.Context, *noflyv1.ListExemptionsRequest) (*noflyv1.ListExemptionsResponse, error) {
	return hostile(&noflyv1.ListExemptionsResponse{}), nil
}

func (hostileServer) ListAuditEvents(context.Context, *noflyv1.ListAuditEventsRequest) (*noflyv1.ListAuditEventsResponse, error) {
	r := hostile(&noflyv1.ListAuditEventsResponse{})
	r.Events[0].Seq = 1
	return r, nil
}

func (hostileServer) VerifyAuditLog(context.Context, *noflyv1.VerifyAuditLogRequest) (*noflyv1.VerifyAuditLogResponse, error) {
	return hostile(&noflyv1.VerifyAuditLogResponse{}), nil
}

// unsafeOutput says what in out could drive a terminal: a control
// character other than newline, DEL, C1, a bidirectional control, a line
// separator, or bytes that are not UTF-8; or a line of the server's making.
func unsafeOutput(out string) string {
	if !utf8.ValidString(out) {
		return "invalid UTF-8"
	}
	for i, r := range out {
		switch {
		case r == '\n':
		case r < 0x20, r == 0x7f, r >= 0x80 && r <= 0x9f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069,
			r == 0x2028, r == 0x2029, r == 0x200b, r == 0xfeff:
			return fmt.Sprintf("U+%04X at byte %d: %q", r, i, out[max(0, i-20):min(len(out), i+20)])
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "NO CONDITIONS") {
			return "the server's line printed as a line of its own: " + line
		}
	}
	return ""
}

// TestHostileTextsPrintedSafely runs every human output of the CLI against
// a server whose every text holds terminal controls: none reaches the
// terminal raw.
func TestHostileTextsPrintedSafely(t *testing.T) {
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer()
	noflyv1.RegisterGeofenceServiceServer(g, hostileServer{})
	noflyv1.RegisterExemptionServiceServer(g, hostileServer{})
	go func() { _ = g.Serve(lis) }()
	t.Cleanup(g.Stop)
	getenv := func(k string) string {
		if k == "NOFLY_SERVER" {
			return lis.Addr().String()
		}
		return ""
	}
	for _, args := range [][]string{
		{"check", "--lat", "52", "--lon", "4"},
		{"zones", "list"},
		{"zones", "show", "X"},
		{"zones", "show", "missing"},
		{"exemptions", "list"},
		{"exemptions", "show", "EX-1"},
		{"audit", "list"},
		{"audit", "verify"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := run(context.Background(), args, strings.NewReader(""), &stdout, &stderr, getenv)
			if err != nil {
				exit(err, &stderr)
			}
			if stdout.Len()+stderr.Len() == 0 {
				t.Fatal("no output")
			}
			if !strings.Contains(stdout.String()+stderr.String(), `call tower`) || !strings.Contains(stdout.String()+stderr.String(), `\x1b[`) {
				t.Errorf("the text is not shown escaped:\n%s%s", stdout.String(), stderr.String())
			}
			for name, out := range map[string]string{"stdout": stdout.String(), "stderr": stderr.String()} {
				if p := unsafeOutput(out); p != "" {
					t.Errorf("%s: %s", name, p)
				}
			}
			if stderr.Len() > 2000 {
				t.Errorf("stderr of %d bytes: the server's message is not cut", stderr.Len())
			}
		})
	}
}

func TestEsc(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain text, ÄÖ ✈ 50 m", "plain text, ÄÖ ✈ 50 m"},
		{"a\u00a0b", "a\u00a0b"}, // a no-break space is graphic
		{"tower\r\x1b[2K", `tower\r\x1b[2K`},
		{"a\tb\nc", `a\tb\nc`},
		{"\a\x7f", `\x07\x7f`},
		{"\u009b2J", `\u009b2J`},
		{"abc\u202efed", `abc\u202efed`},
		{"\u2028\u200b\ufeff", `\u2028\u200b\ufeff`},
		{"bad \xff\xfe bytes", `bad \xff\xfe bytes`},
	} {
		if got := esc(tc.in); got != tc.want {
			t.Errorf("esc(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
