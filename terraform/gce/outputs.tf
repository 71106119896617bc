output "service_account_email" {
  description = "Email of the service account routesync runs as: attach it to the control-plane VMs (scope cloud-platform), or bind it through workload identity."
  value       = google_service_account.this.email
}

output "service_account_name" {
  description = "Fully qualified name of the service account (projects/…/serviceAccounts/…)."
  value       = google_service_account.this.name
}

output "role_name" {
  description = "Fully qualified name of the custom role (projects/…/roles/…)."
  value       = google_project_iam_custom_role.this.name
}

output "role_permissions" {
  description = "The permissions of the custom role, as read from iam/gce-role.yaml."
  value       = sort(google_project_iam_custom_role.this.permissions)
}

output "workload_identity_member" {
  description = "The principal allowed to impersonate the service account, or null without workload_identity_pool."
  value       = local.workload_identity_member
}

output "routesync_env" {
  description = "The ROUTESYNC_* environment for this project and cluster, e.g. for the ConfigMap in deploy/kubernetes/gce or /etc/routesync/routesync.env."
  value = {
    ROUTESYNC_PROVIDER     = "gce"
    ROUTESYNC_CLUSTER_NAME = var.cluster_name
    ROUTESYNC_GCE_PROJECT  = var.project_id
    ROUTESYNC_GCE_NETWORK  = var.network
    # An empty value means no filter (routesync reads an empty list).
    ROUTESYNC_NODE_NETWORK_TAG = join(",", var.node_network_tags)
  }
}
