output "role_arn" {
  description = "ARN of the IAM role routesync runs as (for the eks.amazonaws.com/role-arn annotation with IRSA)."
  value       = aws_iam_role.this.arn
}

output "role_name" {
  description = "Name of the IAM role."
  value       = aws_iam_role.this.name
}

output "policy_arn" {
  description = "ARN of the least-privilege policy rendered from iam/aws-policy.json, attached to the role."
  value       = aws_iam_policy.this.arn
}

output "policy_json" {
  description = "The rendered policy document (the same as node iam/render-aws-policy.mjs prints for these inputs)."
  value       = local.policy_json
}

output "instance_profile_name" {
  description = "Name of the instance profile for the control-plane instances, or null when create_instance_profile is false."
  value       = one(aws_iam_instance_profile.this[*].name)
}

output "instance_profile_arn" {
  description = "ARN of the instance profile, or null when create_instance_profile is false."
  value       = one(aws_iam_instance_profile.this[*].arn)
}

output "tagged_route_table_ids" {
  description = "The route tables this module tagged routesync.io/cluster/<cluster_name>."
  value       = sort([for tag in aws_ec2_tag.route_table : tag.resource_id])
}

output "routesync_env" {
  description = "The ROUTESYNC_* environment for this VPC and cluster, e.g. for the ConfigMap in deploy/kubernetes/aws or /etc/routesync/routesync.env."
  value = {
    ROUTESYNC_PROVIDER     = "aws-vpc"
    ROUTESYNC_CLUSTER_NAME = var.cluster_name
    ROUTESYNC_VPC_ID       = var.vpc_id
    ROUTESYNC_AWS_REGION   = local.policy_vars.region
    # An empty value means no filter (routesync reads an empty list).
    ROUTESYNC_NODE_TAG = join(",", var.node_tags)
  }
}
