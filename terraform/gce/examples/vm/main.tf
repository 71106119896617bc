# routesync on self-managed GCE control-plane VMs: the VMs run with the service account attached
# and routesync gets its credentials from the metadata server.
#
#   terraform init && terraform apply -var project_id=my-project-123

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

module "routesync" {
  source = "../.."

  project_id   = var.project_id
  cluster_name = "prod"
  network      = "default"
  # Only instances with this network tag may be route targets (routesync --node-network-tag).
  node_network_tags = ["prod-node"]
}

# Attach it to the control-plane VMs. Every node VM that routes point at needs can_ip_forward = true
# (it can only be set at creation; routesync reports leases of VMs without it), e.g.
#   resource "google_compute_instance" "control_plane" {
#     can_ip_forward = true
#     service_account { email = module.routesync.service_account_email, scopes = ["cloud-platform"] }
#     …
#   }

output "service_account_email" {
  description = "Service account for the control-plane VMs."
  value       = module.routesync.service_account_email
}

output "routesync_env" {
  description = "The ROUTESYNC_* settings for deploy/kubernetes/gce/configmap.yaml or the systemd environment file."
  value       = module.routesync.routesync_env
}
