# routesync with workload identity federation on a self-managed cluster: the Kubernetes service
# account kube-system/routesync (deploy/kubernetes) may impersonate the service account. Create the
# pool and its OIDC provider for the cluster's service-account issuer first, and give the pod a
# projected token with the provider's audience and a credential configuration file
# (GOOGLE_APPLICATION_CREDENTIALS), which deploy/kubernetes does not add. Not for GKE: GKE Workload
# Identity does not serve hostNetwork pods, and GKE has no control-plane nodes for the Deployment.
#
#   terraform init && terraform apply -var project_id=my-project-123 \
#     -var workload_identity_pool=projects/123456789012/locations/global/workloadIdentityPools/my-cluster

terraform {
  required_version = ">= 1.3.0"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 5.0, < 8.0"
    }
  }
}

provider "google" {
  project = var.project_id
}

variable "project_id" {
  type        = string
  description = "The cluster's project."
}

variable "workload_identity_pool" {
  type        = string
  description = "PROJECT_ID.svc.id.goog, or projects/PROJECT_NUMBER/locations/global/workloadIdentityPools/POOL_ID."
}

module "routesync" {
  source = "../.."

  project_id                 = var.project_id
  workload_identity_pool     = var.workload_identity_pool
  kubernetes_namespace       = "kube-system"
  kubernetes_service_account = "routesync"
  # Only instances with this network tag may be route targets (routesync --node-network-tag).
  node_network_tags = ["prod-node"]
}

output "service_account_email" {
  description = "The service account the Kubernetes service account impersonates."
  value       = module.routesync.service_account_email
}

output "workload_identity_member" {
  description = "The principal bound to roles/iam.workloadIdentityUser."
  value       = module.routesync.workload_identity_member
}
