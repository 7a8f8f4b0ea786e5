package main

// eachPage reads a paged list: fetch asks for the page at token (the first
// with ""), and fn takes each page's items, until the server says there is
// no next page.
func eachPage[T any](fetch func(token string) (items []T, next string, err error), fn func([]T) error) error {
	token := ""
	for {
		items, next, err := fetch(token)
		if err != nil {
			return err
		}
		if err := fn(items); err != nil {
			return err
		}
		if next == "" {
			return nil
		}
		token = next
	}
}
