package server

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"google.golang.org/grpc"
)

// TestChainUnary: chainUnary calls its interceptors in order around the
// method's handler, each with the call's own info and handler, as
// grpc.ChainUnaryInterceptor does, also from many goroutines at once, when
// an interceptor answers without the handler, calls it twice, or the
// handler panics.
func TestChainUnary(t *testing.T) {
	type trace struct{ steps []string }
	ic := func(name string) grpc.UnaryServerInterceptor {
		return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
			tr := req.(*trace)
			tr.steps = append(tr.steps, name+" "+info.FullMethod)
			switch info.FullMethod {
			case "/refuse":
				if name == "b" {
					return nil, errors.New("refused by b")
				}
			case "/twice":
				if name == "c" {
					if _, err := handler(ctx, req); err != nil {
						return nil, err
					}
				}
			}
			resp, err := handler(ctx, req)
			tr.steps = append(tr.steps, "/"+name)
			return resp, err
		}
	}
	chain := chainUnary(ic("a"), ic("b"), ic("c"))
	call := func(method string, id int) (*trace, any, error) {
		tr := new(trace)
		resp, err := chain(context.Background(), tr, &grpc.UnaryServerInfo{FullMethod: method}, func(_ context.Context, req any) (any, error) {
			req.(*trace).steps = append(req.(*trace).steps, "handler")
			if method == "/panic" {
				panic("handler")
			}
			return id, nil
		})
		return tr, resp, err
	}
	check := func(method string, id int, want []string, wantErr bool) {
		tr, resp, err := call(method, id)
		if !slices.Equal(tr.steps, want) || (err != nil) != wantErr || err == nil && resp != id {
			panic(fmt.Sprintf("%s call %d: steps %q answer %v %v; want steps %q", method, id, tr.steps, resp, err, want))
		}
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				id := g*1000 + i
				switch i % 4 {
				case 0:
					check("/m", id, []string{"a /m", "b /m", "c /m", "handler", "/c", "/b", "/a"}, false)
				case 1:
					check("/refuse", id, []string{"a /refuse", "b /refuse", "/a"}, true)
				case 2:
					check("/twice", id, []string{"a /twice", "b /twice", "c /twice", "handler", "handler", "/c", "/b", "/a"}, false)
				case 3:
					func() {
						defer func() {
							if recover() == nil {
								panic("the handler's panic was lost")
							}
						}()
						_, _, _ = call("/panic", id)
					}()
				}
			}
		})
	}
	wg.Wait()
	if chainUnary() != nil {
		t.Fatal("no interceptors chain into one")
	}
	only := ic("only")
	if got := chainUnary(only); fmt.Sprint(got) != fmt.Sprint(only) {
		t.Fatal("one interceptor is not itself")
	}
}
