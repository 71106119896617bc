# routesync's GCE identity: a service account, the least-privilege custom role read from
# ../../iam/gce-role.yaml, the project binding, and optionally a workload identity binding.

locals {
  # The one source of the role's permissions, shared with `gcloud iam roles create --file`.
  role_definition = yamldecode(file("${path.module}/../../iam/gce-role.yaml"))

  workload_identity_member = (
    var.workload_identity_pool == null ? null :
    can(regex("^projects/", var.workload_identity_pool))
    ? "principal://iam.googleapis.com/${var.workload_identity_pool}/subject/system:serviceaccount:${var.kubernetes_namespace}:${var.kubernetes_service_account}"
    : "serviceAccount:${var.workload_identity_pool}[${var.kubernetes_namespace}/${var.kubernetes_service_account}]"
  )
}

resource "google_project_iam_custom_role" "this" {
  project     = var.project_id
  role_id     = var.role_id
  title       = local.role_definition.title
  description = local.role_definition.description
  stage       = local.role_definition.stage
  permissions = local.role_definition.includedPermissions
}

resource "google_service_account" "this" {
  project      = var.project_id
  account_id   = var.service_account_id
  display_name = "routesync (${var.cluster_name})"
  description  = "routesync: keeps the GCE routes of cluster ${var.cluster_name} in sync with flannel leases"
}

resource "google_project_iam_member" "this" {
  project = var.project_id
  role    = google_project_iam_custom_role.this.name
  member  = "serviceAccount:${google_service_account.this.email}"
}

resource "google_service_account_iam_member" "workload_identity" {
  count = local.workload_identity_member == null ? 0 : 1

  service_account_id = google_service_account.this.name
  role               = "roles/iam.workloadIdentityUser"
  member             = local.workload_identity_member
}
