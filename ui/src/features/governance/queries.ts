import { graphql } from '../../gql';

export const WorkflowTaskFields = graphql(`
  fragment WorkflowTaskFields on WorkflowTask {
    id
    type
    status
    subject
    createdAt
    decidedAt
    comment
    requestedBy {
      id
      username
    }
    decidedBy {
      id
      username
    }
  }
`);

/** Pending tasks and the decided ones, in one request (the argument defaults to PENDING). */
export const WorkflowTasksQuery = graphql(`
  query WorkflowTasks {
    pending: workflowTasks(status: PENDING) {
      id
      ...WorkflowTaskFields
    }
    approved: workflowTasks(status: APPROVED) {
      id
      ...WorkflowTaskFields
    }
    rejected: workflowTasks(status: REJECTED) {
      id
      ...WorkflowTaskFields
    }
  }
`);

export const DecideWorkflowTaskMutation = graphql(`
  mutation DecideWorkflowTask($id: ID!, $approve: Boolean!, $comment: String) {
    decideWorkflowTask(id: $id, approve: $approve, comment: $comment) {
      id
      ...WorkflowTaskFields
    }
  }
`);

export const MyWorkflowTasksQuery = graphql(`
  query MyWorkflowTasks {
    myWorkflowTasks {
      id
      ...WorkflowTaskFields
    }
  }
`);

export const WorkflowSettingsQuery = graphql(`
  query WorkflowSettings {
    workflowSettings {
      type
      approvalRequired
    }
    workflowWebhook {
      url
      secretSet
    }
  }
`);

export const SetWorkflowApprovalMutation = graphql(`
  mutation SetWorkflowApproval($type: WorkflowType!, $required: Boolean!) {
    setWorkflowApproval(type: $type, required: $required) {
      type
      approvalRequired
    }
  }
`);

export const SetWorkflowWebhookMutation = graphql(`
  mutation SetWorkflowWebhook($url: String, $secret: String) {
    setWorkflowWebhook(url: $url, secret: $secret) {
      url
      secretSet
    }
  }
`);

export const GroupsQuery = graphql(`
  query Groups {
    groups {
      name
      description
      members {
        id
        username
      }
    }
  }
`);

export const CreateGroupMutation = graphql(`
  mutation CreateGroup($name: ID!, $description: String) {
    createGroup(name: $name, description: $description) {
      name
      description
      members {
        id
        username
      }
    }
  }
`);

export const SetGroupMembersMutation = graphql(`
  mutation SetGroupMembers($name: ID!, $usernames: [String!]!) {
    setGroupMembers(name: $name, usernames: $usernames) {
      name
      members {
        id
        username
      }
    }
  }
`);

export const DeleteGroupMutation = graphql(`
  mutation DeleteGroup($name: ID!) {
    deleteGroup(name: $name)
  }
`);

export const ChangeSubscriptionTierMutation = graphql(`
  mutation ChangeSubscriptionTier($id: ID!, $tier: String!) {
    changeSubscriptionTier(id: $id, tier: $tier) {
      id
      tier
      status
      pendingTier
      statusReason
    }
  }
`);

/** The operations of APIs a product may bundle (the publisher's APIs, first page). */
export const ProductSourceApisQuery = graphql(`
  query ProductSourceApis($query: String) {
    apis(query: $query, first: 100) {
      edges {
        node {
          id
          name
          version
          context
          type
          resources {
            method
            path
          }
        }
      }
    }
  }
`);

export const CreateAPIProductMutation = graphql(`
  mutation CreateAPIProduct($input: CreateAPIProductInput!) {
    createAPIProduct(input: $input) {
      id
      name
    }
  }
`);

export const ApiGovernanceFields = graphql(`
  fragment ApiGovernanceFields on API {
    id
    type
    visibility
    visibleToGroups
    editableByGroups
    pendingLifecycleAction
    updatedAt
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
  }
`);

export const UpdateApiGovernanceMutation = graphql(`
  mutation UpdateApiGovernance($id: ID!, $input: UpdateAPIInput!) {
    updateAPI(id: $id, input: $input) {
      id
      updatedAt
      ...ApiGovernanceFields
    }
  }
`);

/** Group names for pickers: only admins may list groups, so others type names. */
export const GroupNamesQuery = graphql(`
  query GroupNames {
    groups {
      name
    }
  }
`);
