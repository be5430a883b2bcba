import { graphql } from '../../gql';

export const ApiRowFields = graphql(`
  fragment ApiRowFields on API {
    id
    name
    context
    version
    lifecycleState
    tags
    updatedAt
    provider {
      id
      username
    }
  }
`);

export const PublisherApisQuery = graphql(`
  query PublisherApis($query: String, $first: Int, $after: String) {
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
          ...ApiRowFields
        }
      }
    }
  }
`);

export const SubscriptionTiersQuery = graphql(`
  query SubscriptionTiers {
    throttlingPolicies(kind: SUBSCRIPTION) {
      name
      description
      requestCount
      unitTimeSeconds
    }
  }
`);

export const AdvancedPoliciesQuery = graphql(`
  query AdvancedPolicies {
    throttlingPolicies(kind: ADVANCED) {
      name
      description
    }
  }
`);

export const CreateApiMutation = graphql(`
  mutation CreateApi($input: CreateAPIInput!) {
    createAPI(input: $input) {
      id
      name
    }
  }
`);

/** The SDL of a GraphQL endpoint, read by the server with one introspection query. */
export const GraphQLSchemaFromEndpointQuery = graphql(`
  query GraphQLSchemaFromEndpoint($url: String!) {
    graphQLSchemaFromEndpoint(url: $url)
  }
`);

export const ImportOpenApiMutation = graphql(`
  mutation ImportOpenApi($definition: String!, $endpoint: String!, $context: String, $version: String) {
    importOpenAPI(definition: $definition, endpoint: $endpoint, context: $context, version: $version) {
      id
      name
    }
  }
`);

export const ApiDetailQuery = graphql(`
  query ApiDetail($id: ID!) {
    api(id: $id) {
      id
      name
      context
      version
      lifecycleState
      gatewayURLs
      type
      ...ApiOverviewFields
      ...ApiSchemaFields
      ...ApiResourcesFields
      ...ApiTiersFields
      ...ApiLifecycleFields
      ...ApiDocumentsFields
      ...ApiPoliciesFields
      ...ApiAIFields
      ...ApiMCPFields
      ...ApiGovernanceFields
    }
  }
`);

export const ApiOverviewFields = graphql(`
  fragment ApiOverviewFields on API {
    id
    type
    name
    context
    version
    description
    tags
    isDefaultVersion
    throttlingPolicy
    provider {
      id
      username
    }
    createdAt
    updatedAt
    gatewayURLs
    endpoints {
      type
      production
      sandbox
      timeoutMs
      retries
      circuitBreaker {
        failureThreshold
        openSeconds
      }
    }
    responseCache {
      enabled
      ttlSeconds
      maxBodyBytes
    }
    validateRequests
    cors {
      enabled
      allowOrigins
      allowMethods
      allowHeaders
      allowCredentials
    }
  }
`);

export const ApiResourcesFields = graphql(`
  fragment ApiResourcesFields on API {
    id
    type
    graphQLSchema
    resources {
      method
      path
      authRequired
      scopes
      throttlingPolicy
      policies {
        name
        flow
        parameters {
          name
          value
        }
      }
    }
  }
`);

/** The API's own policies; each resource's come with ApiResourcesFields. */
export const ApiPoliciesFields = graphql(`
  fragment ApiPoliciesFields on API {
    id
    policies {
      name
      flow
      parameters {
        name
        value
      }
    }
  }
`);

/** The built-in policies the editor offers. */
export const PolicySpecsQuery = graphql(`
  query PolicySpecs {
    policySpecs {
      name
      description
      flows
      parameters
    }
  }
`);

/** What a MOCK endpoint answers for each resource, from the saved definition. */
export const MockPreviewQuery = graphql(`
  query MockPreview($id: ID!) {
    api(id: $id) {
      id
      mockPreview {
        method
        path
        status
        contentType
        body
      }
    }
  }
`);

/** A GRAPHQL API's schema and persisted queries, an SSE API's event counting. */
export const ApiSchemaFields = graphql(`
  fragment ApiSchemaFields on API {
    id
    type
    graphQLSchema
    requirePersistedQueries
    persistedQueries
    countEvents
  }
`);

export const ApiTiersFields = graphql(`
  fragment ApiTiersFields on API {
    id
    subscriptionTiers
  }
`);

export const ApiLifecycleFields = graphql(`
  fragment ApiLifecycleFields on API {
    id
    lifecycleState
    pendingLifecycleAction
    allowedActions
    lifecycleHistory {
      from
      to
      action
      actor
      at
    }
  }
`);

export const ApiDocumentsFields = graphql(`
  fragment ApiDocumentsFields on API {
    id
    documents {
      id
      name
      summary
      source
      url
      contentType
      size
      createdAt
    }
  }
`);

export const UpdateApiMutation = graphql(`
  mutation UpdateApi($id: ID!, $input: UpdateAPIInput!) {
    updateAPI(id: $id, input: $input) {
      id
      updatedAt
      ...ApiOverviewFields
      ...ApiResourcesFields
      ...ApiTiersFields
      ...ApiSchemaFields
      ...ApiPoliciesFields
    }
  }
`);

export const DeleteApiMutation = graphql(`
  mutation DeleteApi($id: ID!) {
    deleteAPI(id: $id)
  }
`);

export const ChangeLifecycleMutation = graphql(`
  mutation ChangeLifecycle($apiId: ID!, $action: LifecycleAction!) {
    changeLifecycle(apiId: $apiId, action: $action) {
      id
      ...ApiLifecycleFields
    }
  }
`);

export const CreateNewVersionMutation = graphql(`
  mutation CreateNewVersion($apiId: ID!, $version: String!) {
    createNewVersion(apiId: $apiId, version: $version) {
      id
      version
    }
  }
`);

export const AddDocumentMutation = graphql(`
  mutation AddDocument($apiId: ID!, $input: AddDocumentInput!) {
    addDocument(apiId: $apiId, input: $input) {
      id
      name
    }
  }
`);

export const DeleteDocumentMutation = graphql(`
  mutation DeleteDocument($id: ID!) {
    deleteDocument(id: $id)
  }
`);

export const ApiSubscriptionsQuery = graphql(`
  query ApiSubscriptions($id: ID!) {
    api(id: $id) {
      id
      subscriptions {
        id
        tier
        status
        createdAt
        application {
          id
          name
          owner {
            id
            username
          }
        }
      }
    }
  }
`);

export const BlockSubscriptionMutation = graphql(`
  mutation BlockSubscription($id: ID!, $productionOnly: Boolean) {
    blockSubscription(id: $id, productionOnly: $productionOnly) {
      id
      status
    }
  }
`);

export const UnblockSubscriptionMutation = graphql(`
  mutation UnblockSubscription($id: ID!) {
    unblockSubscription(id: $id) {
      id
      status
    }
  }
`);

export const ApiUsageQuery = graphql(`
  query ApiUsage($apiId: ID!, $granularity: Granularity, $from: Time, $to: Time) {
    apiUsage(apiId: $apiId, granularity: $granularity, from: $from, to: $to) {
      ...UsageSeriesFields
    }
  }
`);

export const ApiVersionsQuery = graphql(`
  query ApiVersions($query: String) {
    apis(query: $query, first: 100) {
      edges {
        node {
          id
          name
          context
          version
          lifecycleState
          isDefaultVersion
        }
      }
    }
  }
`);

/** Per-minute usage as it arrives (WebSocket); the same fields as UsageSeriesFields' points. */
export const ApiUsageLiveSubscription = graphql(`
  subscription ApiUsageLive($apiId: ID!) {
    apiUsageLive(apiId: $apiId) {
      at
      requests
      errors4xx
      errors5xx
      throttled
      latencyAvgMs
      latencyMaxMs
      backendLatencyAvgMs
    }
  }
`);

export const DeploymentFields = graphql(`
  fragment DeploymentFields on Deployment {
    environment
    deployedAt
    expectedGateways
    acknowledgedGateways
    acknowledgedInMs
    gateways {
      id
      healthy
      acknowledged
    }
    revision {
      id
      number
    }
  }
`);

export const ApiDeploymentsQuery = graphql(`
  query ApiDeployments($id: ID!) {
    api(id: $id) {
      id
      updatedAt
      lifecycleHistory {
        at
      }
      revisions {
        id
        number
        description
        createdAt
      }
      deployments {
        ...DeploymentFields
      }
    }
    environments {
      name
      displayName
    }
  }
`);

/** The API's deployments with their acknowledgement: at once, then on every change (WebSocket). */
export const ApiDeploymentsLiveSubscription = graphql(`
  subscription ApiDeploymentsLive($apiId: ID!) {
    deployments(apiId: $apiId) {
      ...DeploymentFields
    }
  }
`);

export const CreateRevisionMutation = graphql(`
  mutation CreateRevision($apiId: ID!, $description: String) {
    createRevision(apiId: $apiId, description: $description) {
      id
      number
      description
      createdAt
    }
  }
`);

export const DeployRevisionMutation = graphql(`
  mutation DeployRevision($id: ID!, $environments: [String!]!) {
    deployRevision(id: $id, environments: $environments) {
      ...DeploymentFields
    }
  }
`);

export const UndeployRevisionMutation = graphql(`
  mutation UndeployRevision($id: ID!, $environments: [String!]!) {
    undeployRevision(id: $id, environments: $environments)
  }
`);

export const RestoreRevisionMutation = graphql(`
  mutation RestoreRevision($id: ID!) {
    restoreRevision(id: $id) {
      id
      updatedAt
      ...ApiOverviewFields
      ...ApiResourcesFields
      ...ApiTiersFields
      ...ApiSchemaFields
      ...ApiPoliciesFields
    }
  }
`);

export const DeleteRevisionMutation = graphql(`
  mutation DeleteRevision($id: ID!) {
    deleteRevision(id: $id)
  }
`);

/** An AI API's provider settings (the key itself is never returned, only whether one is stored). */
export const ApiAIFields = graphql(`
  fragment ApiAIFields on API {
    id
    ai {
      vendor
      models
      promptGuard
      backendKeySet
    }
  }
`);

export const MCPToolFields = graphql(`
  fragment MCPToolFields on MCPTool {
    name
    description
    inputSchema
    operation
    scopes
  }
`);

/** An MCP server's mode, tools and the URLs clients connect to. */
export const ApiMCPFields = graphql(`
  fragment ApiMCPFields on API {
    id
    mcp {
      mode
      sourceAPI {
        id
        name
        version
      }
      tools {
        ...MCPToolFields
      }
      hiddenTools
      urls
    }
  }
`);

export const UpdateApiAIMutation = graphql(`
  mutation UpdateApiAI($id: ID!, $input: UpdateAPIInput!) {
    updateAPI(id: $id, input: $input) {
      id
      updatedAt
      ...ApiAIFields
      ...ApiMCPFields
    }
  }
`);

/** HTTP APIs an MCP server can be made from (the first page of the catalogue). */
export const MCPSourceApisQuery = graphql(`
  query MCPSourceApis {
    apis(first: 100) {
      edges {
        node {
          id
          name
          version
          context
          type
        }
      }
    }
  }
`);

export const MCPSourceApiQuery = graphql(`
  query MCPSourceApi($id: ID!) {
    api(id: $id) {
      id
      name
      version
      context
      type
      resources {
        method
        path
        scopes
      }
    }
  }
`);

export const MCPToolPreviewQuery = graphql(`
  query MCPToolPreview($apiId: ID!, $operations: [String!]) {
    mcpToolPreview(apiId: $apiId, operations: $operations) {
      ...MCPToolFields
    }
  }
`);

export const CreateMCPServerFromAPIMutation = graphql(`
  mutation CreateMCPServerFromAPI($apiId: ID!, $context: String!, $version: String!, $operations: [String!]) {
    createMCPServerFromAPI(apiId: $apiId, context: $context, version: $version, operations: $operations) {
      id
      name
    }
  }
`);

/** AI APIs' token usage over time and by model. */
export const TokenUsageFields = graphql(`
  fragment TokenUsageFields on UsageSeries {
    points {
      at
      promptTokens
      completionTokens
      totalTokens
    }
    tokensByModel {
      at
      model
      requests
      promptTokens
      completionTokens
      totalTokens
      estimatedRequests
      providerLatencyAvgMs
    }
  }
`);

export const ApiTokenUsageQuery = graphql(`
  query ApiTokenUsage($apiId: ID!, $granularity: Granularity, $from: Time, $to: Time) {
    apiUsage(apiId: $apiId, granularity: $granularity, from: $from, to: $to) {
      ...TokenUsageFields
    }
  }
`);

export const ApplicationTokenUsageQuery = graphql(`
  query ApplicationTokenUsage($applicationId: ID!, $granularity: Granularity, $from: Time, $to: Time) {
    applicationUsage(applicationId: $applicationId, granularity: $granularity, from: $from, to: $to) {
      ...TokenUsageFields
    }
  }
`);
