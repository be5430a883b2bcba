import { graphql } from '../../gql';

export const MyApplicationsQuery = graphql(`
  query MyApplications {
    applications {
      id
      name
      description
      throttlingPolicy
      createdAt
      status
      statusReason
      keys {
        keyType
        consumerKey
      }
      subscriptions {
        id
        tier
        status
        pendingTier
        statusReason
        api {
          id
          name
          version
        }
      }
    }
  }
`);

export const ApplicationPoliciesQuery = graphql(`
  query ApplicationPolicies {
    throttlingPolicies(kind: APPLICATION) {
      name
      description
      requestCount
      unitTimeSeconds
    }
  }
`);

export const CreateApplicationMutation = graphql(`
  mutation CreateApplication($input: CreateApplicationInput!) {
    createApplication(input: $input) {
      id
      name
      status
    }
  }
`);

export const DeleteApplicationMutation = graphql(`
  mutation DeleteApplication($id: ID!) {
    deleteApplication(id: $id)
  }
`);

export const ApplicationDetailQuery = graphql(`
  query ApplicationDetail($id: ID!) {
    application(id: $id) {
      id
      name
      description
      throttlingPolicy
      createdAt
      status
      statusReason
      owner {
        id
        username
      }
      keys {
        keyType
        consumerKey
        grantTypes
        createdAt
      }
      apiKeys {
        id
        label
        keyType
        createdAt
        expiresAt
        revokedAt
      }
      subscriptions {
        id
        tier
        status
        pendingTier
        statusReason
        createdAt
        api {
          id
          name
          version
          context
          lifecycleState
          type
          subscriptionTiers
        }
      }
    }
  }
`);

export const SubscribeMutation = graphql(`
  mutation Subscribe($apiId: ID!, $applicationId: ID!, $tier: String!) {
    subscribe(apiId: $apiId, applicationId: $applicationId, tier: $tier) {
      id
      tier
      status
      pendingTier
      statusReason
      application {
        id
        name
      }
    }
  }
`);

export const UnsubscribeMutation = graphql(`
  mutation Unsubscribe($id: ID!) {
    unsubscribe(id: $id)
  }
`);

export const GenerateKeysMutation = graphql(`
  mutation GenerateKeys($applicationId: ID!, $keyType: KeyType!, $grantTypes: [String!]) {
    generateKeys(applicationId: $applicationId, keyType: $keyType, grantTypes: $grantTypes) {
      keyType
      consumerKey
      consumerSecret
      grantTypes
      createdAt
    }
  }
`);

export const RegenerateSecretMutation = graphql(`
  mutation RegenerateSecret($applicationId: ID!, $keyType: KeyType!) {
    regenerateConsumerSecret(applicationId: $applicationId, keyType: $keyType) {
      keyType
      consumerKey
      consumerSecret
      grantTypes
      createdAt
    }
  }
`);

export const ApplicationUsageQuery = graphql(`
  query ApplicationUsage($applicationId: ID!, $granularity: Granularity, $from: Time, $to: Time) {
    applicationUsage(applicationId: $applicationId, granularity: $granularity, from: $from, to: $to) {
      ...UsageSeriesFields
    }
  }
`);

export const UpdateApplicationMutation = graphql(`
  mutation UpdateApplication($id: ID!, $input: UpdateApplicationInput!) {
    updateApplication(id: $id, input: $input) {
      id
      name
      description
      throttlingPolicy
    }
  }
`);

export const GenerateAPIKeyMutation = graphql(`
  mutation GenerateAPIKey($applicationId: ID!, $keyType: KeyType!, $validityDays: Int, $label: String) {
    generateAPIKey(applicationId: $applicationId, keyType: $keyType, validityDays: $validityDays, label: $label) {
      id
      key
      expiresAt
    }
  }
`);

export const RevokeAPIKeyMutation = graphql(`
  mutation RevokeAPIKey($applicationId: ID!, $id: ID!) {
    revokeAPIKey(applicationId: $applicationId, id: $id)
  }
`);
