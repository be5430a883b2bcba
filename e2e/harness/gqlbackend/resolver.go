package gqlbackend

// THIS CODE WILL BE UPDATED WITH SCHEMA CHANGES. PREVIOUS IMPLEMENTATION FOR SCHEMA CHANGES WILL BE KEPT IN THE COMMENT SECTION. IMPLEMENTATION FOR UNCHANGED SCHEMA WILL BE KEPT.

import (
	"context"
	"strconv"
)

// Resolver holds the books; Server makes it safe for concurrent use.
type Resolver struct{ s *Server }

// AddBook is the resolver for the addBook field.
func (r *mutationResolver) AddBook(ctx context.Context, title string) (*Book, error) {
	return r.s.add(title), nil
}

// Books is the resolver for the books field.
func (r *queryResolver) Books(ctx context.Context, first *int) ([]*Book, error) {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	n := len(r.s.books)
	if first != nil && *first >= 0 && *first < n {
		n = *first
	}
	return append([]*Book(nil), r.s.books[:n]...), nil
}

// Book is the resolver for the book field.
func (r *queryResolver) Book(ctx context.Context, id string) (*Book, error) {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	i, err := strconv.Atoi(id)
	if err != nil || i < 1 || i > len(r.s.books) {
		return nil, nil
	}
	return r.s.books[i-1], nil
}

// BookAdded is the resolver for the bookAdded field.
func (r *subscriptionResolver) BookAdded(ctx context.Context) (<-chan *Book, error) {
	return r.s.subscribe(ctx), nil
}

// Mutation returns MutationResolver implementation.
func (r *Resolver) Mutation() MutationResolver { return &mutationResolver{r} }

// Query returns QueryResolver implementation.
func (r *Resolver) Query() QueryResolver { return &queryResolver{r} }

// Subscription returns SubscriptionResolver implementation.
func (r *Resolver) Subscription() SubscriptionResolver { return &subscriptionResolver{r} }

type (
	mutationResolver     struct{ *Resolver }
	queryResolver        struct{ *Resolver }
	subscriptionResolver struct{ *Resolver }
)
