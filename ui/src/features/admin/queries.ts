import { graphql } from '../../gql';

export const UsersQuery = graphql(`
  query Users {
    users {
      id
      username
      email
      roles
      createdAt
    }
  }
`);

export const CreateUserMutation = graphql(`
  mutation CreateUser($input: CreateUserInput!) {
    createUser(input: $input) {
      id
      username
      email
      roles
      createdAt
    }
  }
`);

export const SetUserRolesMutation = graphql(`
  mutation SetUserRoles($id: ID!, $roles: [Role!]!) {
    setUserRoles(id: $id, roles: $roles) {
      id
      roles
    }
  }
`);

export const DeleteUserMutation = graphql(`
  mutation DeleteUser($id: ID!) {
    deleteUser(id: $id)
  }
`);

export const PolicyFields = graphql(`
  fragment PolicyFields on ThrottlingPolicy {
    name
    kind
    description
    limitType
    requestCount
    dataAmountBytes
    costCount
    totalTokenCount
    promptTokenCount
    completionTokenCount
    unitTimeSeconds
    burstLimitPerSecond
    graphQLMaxDepth
    graphQLMaxComplexity
    stopOnQuotaReach
    failClosed
    keyTemplate
    inUse
    conditionGroups {
      description
      requestCount
      unitTimeSeconds
      conditions {
        type
        name
        value
        invert
      }
    }
  }
`);

export const PoliciesQuery = graphql(`
  query Policies($kind: PolicyKind!) {
    throttlingPolicies(kind: $kind) {
      name
      ...PolicyFields
    }
  }
`);

export const CreatePolicyMutation = graphql(`
  mutation CreatePolicy($input: ThrottlingPolicyInput!) {
    createThrottlingPolicy(input: $input) {
      name
      ...PolicyFields
    }
  }
`);

export const UpdatePolicyMutation = graphql(`
  mutation UpdatePolicy($input: ThrottlingPolicyInput!) {
    updateThrottlingPolicy(input: $input) {
      name
      ...PolicyFields
    }
  }
`);

export const DeletePolicyMutation = graphql(`
  mutation DeletePolicy($kind: PolicyKind!, $name: String!) {
    deleteThrottlingPolicy(kind: $kind, name: $name)
  }
`);

export const BlockingConditionsQuery = graphql(`
  query BlockingConditions {
    blockingConditions {
      id
      type
      value
      enabled
      createdAt
    }
  }
`);

export const AddBlockingConditionMutation = graphql(`
  mutation AddBlockingCondition($input: BlockingConditionInput!) {
    addBlockingCondition(input: $input) {
      id
      type
      value
      enabled
      createdAt
    }
  }
`);

export const SetBlockingConditionEnabledMutation = graphql(`
  mutation SetBlockingConditionEnabled($id: ID!, $enabled: Boolean!) {
    setBlockingConditionEnabled(id: $id, enabled: $enabled) {
      id
      enabled
    }
  }
`);

export const DeleteBlockingConditionMutation = graphql(`
  mutation DeleteBlockingCondition($id: ID!) {
    deleteBlockingCondition(id: $id)
  }
`);

export const ControlPlaneStatusQuery = graphql(`
  query ControlPlaneStatus {
    controlPlaneStatus {
      revision
      runtimes {
        id
        kind
        address
        revision
        lastSeen
        healthy
        environments
      }
    }
  }
`);

export const EnvironmentFields = graphql(`
  fragment EnvironmentFields on Environment {
    name
    displayName
    description
    gatewayURLs
    gateways {
      id
      environments
      address
      healthy
      lastSeen
    }
  }
`);

export const EnvironmentsQuery = graphql(`
  query Environments {
    environments {
      name
      ...EnvironmentFields
    }
  }
`);

export const CreateEnvironmentMutation = graphql(`
  mutation CreateEnvironment($input: EnvironmentInput!) {
    createEnvironment(input: $input) {
      name
      ...EnvironmentFields
    }
  }
`);

export const DeleteEnvironmentMutation = graphql(`
  mutation DeleteEnvironment($name: ID!) {
    deleteEnvironment(name: $name)
  }
`);
