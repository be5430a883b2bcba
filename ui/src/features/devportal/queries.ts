import { graphql } from '../../gql';

export const CatalogCardFields = graphql(`
  fragment CatalogCardFields on API {
    id
    type
    name
    context
    version
    description
    tags
    lifecycleState
    provider {
      id
      username
    }
    rating {
      average
      count
    }
  }
`);

export const CatalogQuery = graphql(`
  query Catalog($query: String, $first: Int, $after: String) {
    apis(query: $query, first: $first, after: $after) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        cursor
        node {
          id
          lifecycleState
          tags
          ...CatalogCardFields
        }
      }
    }
  }
`);

export const DevApiQuery = graphql(`
  query DevApi($id: ID!) {
    api(id: $id) {
      id
      name
      context
      version
      description
      tags
      lifecycleState
      subscriptionTiers
      isDefaultVersion
      gatewayURLs
      type
      graphQLSchema
      ai {
        vendor
        models
      }
      mcp {
        mode
        urls
        tools {
          name
          description
          operation
          scopes
        }
      }
      deployments {
        environment
      }
      openAPI
      updatedAt
      provider {
        id
        username
      }
      resources {
        method
        path
        authRequired
        scopes
      }
      productResources {
        apiId
        method
        path
        api {
          id
          name
          version
        }
      }
      documents {
        id
        name
        summary
        source
        content
        url
        contentType
        size
      }
      ...RatingFields
      comments {
        id
        author
        text
        createdAt
      }
    }
  }
`);

export const RatingFields = graphql(`
  fragment RatingFields on API {
    id
    rating {
      average
      count
      mine
    }
  }
`);

export const RateApiMutation = graphql(`
  mutation RateApi($apiId: ID!, $rating: Int!) {
    rateAPI(apiId: $apiId, rating: $rating) {
      average
      count
      mine
    }
  }
`);

export const AddCommentMutation = graphql(`
  mutation AddComment($apiId: ID!, $text: String!) {
    addComment(apiId: $apiId, text: $text) {
      id
      author
      text
      createdAt
    }
  }
`);

export const DeleteCommentMutation = graphql(`
  mutation DeleteComment($id: ID!) {
    deleteComment(id: $id)
  }
`);

/** The gateway URLs of each environment, for the API page (public). */
export const DevEnvironmentsQuery = graphql(`
  query DevEnvironments {
    environments {
      name
      displayName
      gatewayURLs
    }
  }
`);
