package resolvers

// Conversions between the Developer Portal and Key Manager components and the GraphQL
// models (applications.graphqls).

import (
	"github.com/turnpike/turnpike/graph/model"
	"github.com/turnpike/turnpike/runtime/devportal"
	"github.com/turnpike/turnpike/runtime/keymanager"
)

func applicationModel(a devportal.Application) *model.Application {
	return &model.Application{
		ID: a.ID, Name: a.Name, Description: a.Description, OwnerID: a.OwnerID,
		ThrottlingPolicy: a.ThrottlingPolicy, CreatedAt: a.CreatedAt,
		ApprovalStatus: model.ApplicationStatus(a.Status), ApprovalReason: a.StatusReason,
	}
}

func subscriptionModel(s devportal.Subscription) *model.Subscription {
	return &model.Subscription{
		ID: s.ID, APIID: s.APIID, ApplicationID: s.ApplicationID, Tier: s.Tier,
		Status: model.SubscriptionStatus(s.Status), CreatedAt: s.CreatedAt,
		PendingTierName: s.PendingTier, Reason: s.StatusReason,
	}
}

func subscriptionModels(ss []devportal.Subscription) []*model.Subscription {
	out := make([]*model.Subscription, len(ss))
	for i := range ss {
		out[i] = subscriptionModel(ss[i])
	}
	return out
}

func keysModel(k keymanager.Keys) *model.ApplicationKeys {
	return &model.ApplicationKeys{
		KeyType: model.KeyType(k.KeyType), ConsumerKey: k.ConsumerKey, ConsumerSecret: k.ConsumerSecret,
		GrantTypes: k.GrantTypes, CallbackURL: k.CallbackURL, CreatedAt: k.CreatedAt,
	}
}

func apiKeyInfoModel(k keymanager.APIKeyInfo) *model.APIKeyInfo {
	return &model.APIKeyInfo{
		ID: k.JTI, Label: k.Label, KeyType: model.KeyType(k.KeyType), CreatedAt: k.CreatedAt, ExpiresAt: k.ExpiresAt, RevokedAt: k.RevokedAt,
	}
}

func ratingModel(r devportal.Rating) *model.Rating {
	return &model.Rating{Average: r.Average, Count: r.Count, Mine: r.Mine}
}

func commentModel(c devportal.Comment) *model.Comment {
	return &model.Comment{ID: c.ID, Author: c.Author, Text: c.Text, CreatedAt: c.CreatedAt}
}

func scopeBindingModel(b keymanager.ScopeBinding) *model.ScopeBinding {
	out := &model.ScopeBinding{Scope: b.Scope, Roles: make([]model.Role, len(b.Roles))}
	for i, r := range b.Roles {
		out.Roles[i] = model.Role(r)
	}
	return out
}
