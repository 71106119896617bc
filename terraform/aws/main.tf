# routesync's AWS identity: one IAM role (trusted by EC2 and/or a Kubernetes service account), the
# least-privilege policy rendered from ../../iam/aws-policy.json, the instance profile, and the
# routesync.io/cluster/<cluster_name> tag on existing route tables.

data "aws_partition" "current" {}

# The VPC's ARN carries the partition, region and account the policy is scoped to.
data "aws_vpc" "this" {
  id = var.vpc_id
}

# Tables to tag must belong to the VPC: the policy's ec2:Vpc condition would deny the rest.
data "aws_route_table" "tagged" {
  for_each = toset(var.tag_route_table_ids)

  route_table_id = each.value

  lifecycle {
    postcondition {
      condition     = self.vpc_id == var.vpc_id
      error_message = "Route table ${each.value} is in ${self.vpc_id}, not in vpc_id ${var.vpc_id}: routesync's policy only covers tables of vpc_id."
    }
  }
}

locals {
  # arn:<partition>:ec2:<region>:<account>:vpc/<vpc-id>
  vpc_arn_parts = split(":", data.aws_vpc.this.arn)

  # The one source of the permissions policy, shared with manual use (iam/render-aws-policy.mjs).
  policy_template = "${path.module}/../../iam/aws-policy.json"
  policy_vars = {
    partition    = local.vpc_arn_parts[1]
    region       = local.vpc_arn_parts[3]
    account_id   = local.vpc_arn_parts[4]
    vpc_id       = var.vpc_id
    cluster_name = var.cluster_name
  }
  policy_json = jsonencode(jsondecode(templatefile(local.policy_template, local.policy_vars)))

  # arn:aws:iam::111122223333:oidc-provider/<issuer host and path>
  oidc_issuer = var.oidc_provider_arn == null ? "" : element(split(":oidc-provider/", var.oidc_provider_arn), 1)

  # One key per cluster, so that clusters sharing a table each tag it (value owned or shared).
  route_table_tag_key = "routesync.io/cluster/${var.cluster_name}"
}

data "aws_iam_policy_document" "assume_role" {
  dynamic "statement" {
    for_each = var.create_instance_profile ? [1] : []

    content {
      sid     = "ControlPlaneInstances"
      effect  = "Allow"
      actions = ["sts:AssumeRole"]

      principals {
        type        = "Service"
        identifiers = ["ec2.${data.aws_partition.current.dns_suffix}"]
      }
    }
  }

  dynamic "statement" {
    for_each = var.oidc_provider_arn == null ? [] : [1]

    content {
      sid     = "KubernetesServiceAccount"
      effect  = "Allow"
      actions = ["sts:AssumeRoleWithWebIdentity"]

      principals {
        type        = "Federated"
        identifiers = [var.oidc_provider_arn]
      }

      condition {
        test     = "StringEquals"
        variable = "${local.oidc_issuer}:sub"
        values   = ["system:serviceaccount:${var.service_account_namespace}:${var.service_account_name}"]
      }

      condition {
        test     = "StringEquals"
        variable = "${local.oidc_issuer}:aud"
        values   = ["sts.amazonaws.com"]
      }
    }
  }
}

resource "aws_iam_role" "this" {
  name                 = var.role_name
  path                 = var.role_path
  description          = "routesync (cluster ${var.cluster_name}): keeps the route tables of ${var.vpc_id} in sync with flannel leases"
  assume_role_policy   = data.aws_iam_policy_document.assume_role.json
  permissions_boundary = var.role_permissions_boundary_arn
  tags                 = var.tags

  lifecycle {
    precondition {
      condition     = var.create_instance_profile || var.oidc_provider_arn != null
      error_message = "Nothing could assume the role: set create_instance_profile = true, or oidc_provider_arn for IRSA, or both."
    }
  }
}

resource "aws_iam_policy" "this" {
  name        = var.role_name
  path        = var.role_path
  description = "routesync (cluster ${var.cluster_name}): describe route tables and ENIs; change routes in tables tagged ${local.route_table_tag_key}=${var.cluster_name} in ${var.vpc_id}; turn SourceDestCheck off on ENIs in ${var.vpc_id}"
  policy      = local.policy_json
  tags        = var.tags
}

resource "aws_iam_role_policy_attachment" "this" {
  role       = aws_iam_role.this.name
  policy_arn = aws_iam_policy.this.arn
}

resource "aws_iam_instance_profile" "this" {
  count = var.create_instance_profile ? 1 : 0

  name = var.role_name
  path = var.role_path
  role = aws_iam_role.this.name
  tags = var.tags
}

# Tags one key on tables that other configurations (or the console) own; the rest of their tags are
# left alone. If another Terraform configuration manages these tables' tags, add the key to its
# provider's ignore_tags.keys to avoid a tug of war.
resource "aws_ec2_tag" "route_table" {
  for_each = data.aws_route_table.tagged

  resource_id = each.value.route_table_id
  key         = local.route_table_tag_key
  value       = var.route_table_tag_value

  # Moving from the deprecated routesync/cluster key: tag anew before the old tag goes, so that
  # the table is never untagged while routesync runs.
  lifecycle {
    create_before_destroy = true
  }
}
