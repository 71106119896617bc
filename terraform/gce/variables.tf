variable "project_id" {
  type        = string
  description = "The project whose routes routesync manages (routesync --gce-project). The service account, the custom role and the binding are created in it."

  validation {
    condition     = can(regex("^[a-z][-a-z0-9]{4,28}[a-z0-9]$", var.project_id))
    error_message = "The project_id must be a project id such as my-project-123."
  }
}

variable "cluster_name" {
  type        = string
  description = "routesync --cluster-name: the prefix of the route names routesync owns (only used for descriptions and the routesync_env output)."
  default     = "routesync"

  validation {
    condition     = can(regex("^[a-z][-a-z0-9]{0,30}$", var.cluster_name))
    error_message = "The cluster_name must match [a-z][-a-z0-9]{0,30}, as routesync --cluster-name does."
  }
}

variable "network" {
  type        = string
  description = "routesync --gce-network: the VPC network of the routes (only used for the routesync_env output; IAM cannot scope routes to one network)."
  default     = "default"

  validation {
    condition     = can(regex("^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$", var.network))
    error_message = "The network must be a network name such as default."
  }
}

variable "service_account_id" {
  type        = string
  description = "Account id (the part before @) of the service account routesync runs as."
  default     = "routesync"

  validation {
    condition     = can(regex("^[a-z][-a-z0-9]{4,28}[a-z0-9]$", var.service_account_id))
    error_message = "The service_account_id must be 6 to 30 characters: a lowercase letter, then lowercase letters, digits or hyphens, not ending with a hyphen."
  }
}

variable "role_id" {
  type        = string
  description = "Id of the project-level custom role made from iam/gce-role.yaml. A deleted custom role keeps its id for 37 days: pick another id to recreate it sooner."
  default     = "routesync"

  validation {
    condition     = can(regex("^[a-zA-Z0-9_.]{3,64}$", var.role_id))
    error_message = "The role_id must be 3 to 64 letters, digits, underscores or dots (no hyphens)."
  }
}

variable "workload_identity_pool" {
  type        = string
  description = "Lets a Kubernetes service account impersonate the service account: a GKE pool such as my-project.svc.id.goog, or a workload identity federation pool such as projects/123456789012/locations/global/workloadIdentityPools/my-cluster. Null: no binding (the control-plane VMs run with the service account attached)."
  default     = null

  validation {
    condition     = var.workload_identity_pool == null || can(regex("^([a-z][-a-z0-9]{4,28}[a-z0-9]\\.svc\\.id\\.goog|projects/[0-9]+/locations/global/workloadIdentityPools/[a-z0-9-]{4,32})$", var.workload_identity_pool))
    error_message = "The workload_identity_pool must be PROJECT_ID.svc.id.goog or projects/PROJECT_NUMBER/locations/global/workloadIdentityPools/POOL_ID."
  }
}

variable "kubernetes_namespace" {
  type        = string
  description = "Namespace of the Kubernetes service account bound through workload_identity_pool (deploy/kubernetes uses kube-system)."
  default     = "kube-system"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.kubernetes_namespace))
    error_message = "The kubernetes_namespace must be a Kubernetes namespace name (RFC 1123 label)."
  }
}

variable "kubernetes_service_account" {
  type        = string
  description = "Name of the Kubernetes service account bound through workload_identity_pool (deploy/kubernetes uses routesync)."
  default     = "routesync"

  validation {
    condition     = can(regex("^[a-z0-9]([-.a-z0-9]{0,251}[a-z0-9])?$", var.kubernetes_service_account))
    error_message = "The kubernetes_service_account must be a Kubernetes object name (RFC 1123 subdomain)."
  }
}

variable "node_network_tags" {
  type        = list(string)
  description = "routesync --node-network-tag (routesync_env only): network tags of which a node instance carries one; only those instances are route targets. Recommended."
  default     = []

  validation {
    condition     = alltrue([for t in var.node_network_tags : can(regex("^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$", t))])
    error_message = "Every entry of node_network_tags must be a network tag such as prod-node, as routesync --node-network-tag takes it."
  }
}
