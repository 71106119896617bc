variable "vpc_id" {
  type        = string
  description = "The VPC whose route tables routesync manages (routesync --vpc-id). The policy only allows route changes in tables of this VPC and source/dest changes on network interfaces in it."

  validation {
    condition     = can(regex("^vpc-[0-9a-f]{8,17}$", var.vpc_id))
    error_message = "The vpc_id must be a VPC id such as vpc-0123456789abcdef0."
  }
}

variable "cluster_name" {
  type        = string
  description = "routesync --cluster-name: names the routesync.io/cluster/<cluster_name> tag on the route tables routesync may change."
  default     = "routesync"

  validation {
    condition     = can(regex("^[a-z][-a-z0-9]{0,30}$", var.cluster_name))
    error_message = "The cluster_name must match [a-z][-a-z0-9]{0,30}, as routesync --cluster-name does."
  }
}

variable "role_name" {
  type        = string
  description = "Name of the IAM role; also the name of the policy and of the instance profile."
  default     = "routesync"

  validation {
    condition     = can(regex("^[a-zA-Z0-9+=,.@_-]{1,64}$", var.role_name))
    error_message = "The role_name must be 1 to 64 characters of letters, digits and +=,.@_-."
  }
}

variable "role_path" {
  type        = string
  description = "Path of the IAM role, the policy and the instance profile."
  default     = "/"

  validation {
    condition     = can(regex("^/([\\x21-\\x7e]{0,510}/)?$", var.role_path))
    error_message = "The role_path must start and end with a slash, e.g. / or /k8s/."
  }
}

variable "role_permissions_boundary_arn" {
  type        = string
  description = "ARN of a managed policy to use as the role's permissions boundary, or null for none."
  default     = null

  validation {
    condition     = var.role_permissions_boundary_arn == null || can(regex("^arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/.+$", var.role_permissions_boundary_arn))
    error_message = "The role_permissions_boundary_arn must be an IAM policy ARN."
  }
}

variable "create_instance_profile" {
  type        = bool
  description = "Trust ec2.amazonaws.com and create an instance profile for the control-plane instances that run routesync. Set to false when routesync only runs with IRSA."
  default     = true
}

variable "oidc_provider_arn" {
  type        = string
  description = "ARN of the cluster's IAM OIDC provider (EKS or a self-managed issuer). When set, the role also trusts the Kubernetes service account below (IRSA). Null disables that trust."
  default     = null

  validation {
    condition     = var.oidc_provider_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/[^:]+$", var.oidc_provider_arn))
    error_message = "The oidc_provider_arn must look like arn:aws:iam::111122223333:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE."
  }
}

variable "service_account_namespace" {
  type        = string
  description = "Namespace of the Kubernetes service account trusted through oidc_provider_arn (deploy/kubernetes uses kube-system)."
  default     = "kube-system"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.service_account_namespace))
    error_message = "The service_account_namespace must be a Kubernetes namespace name (RFC 1123 label)."
  }
}

variable "service_account_name" {
  type        = string
  description = "Name of the Kubernetes service account trusted through oidc_provider_arn (deploy/kubernetes uses routesync)."
  default     = "routesync"

  validation {
    condition     = can(regex("^[a-z0-9]([-.a-z0-9]{0,251}[a-z0-9])?$", var.service_account_name))
    error_message = "The service_account_name must be a Kubernetes object name (RFC 1123 subdomain)."
  }
}

variable "tag_route_table_ids" {
  type        = list(string)
  description = "Existing route tables (in vpc_id) to tag routesync.io/cluster/<cluster_name>=<route_table_tag_value>, so that routesync discovers them and the policy lets it change their routes. Leave empty if you tag them elsewhere."
  default     = []

  validation {
    condition     = alltrue([for id in var.tag_route_table_ids : can(regex("^rtb-[0-9a-f]{8,17}$", id))])
    error_message = "Every entry of tag_route_table_ids must be a route table id such as rtb-0123456789abcdef0."
  }
}

variable "route_table_tag_value" {
  type        = string
  description = "Value of the routesync.io/cluster/<cluster_name> tag: owned (the table is this cluster's) or shared (other clusters manage routes in it too). routesync manages the table either way."
  default     = "owned"

  validation {
    condition     = can(regex("^(owned|shared)$", var.route_table_tag_value))
    error_message = "The route_table_tag_value must be owned or shared."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags for the IAM role, the policy and the instance profile."
  default     = {}
}

variable "node_tags" {
  type        = list(string)
  description = "routesync --node-tag (routesync_env only): KEY=VALUE tags of which a node's instance or ENI carries one; only those ENIs are route targets. Recommended, e.g. [\"kubernetes.io/cluster/prod=owned\"]."
  default     = []

  validation {
    condition     = alltrue([for t in var.node_tags : can(regex("^[^=]{1,128}=[^=]{0,256}$", t))])
    error_message = "Every entry of node_tags must be KEY=VALUE, as routesync --node-tag takes it."
  }
}
