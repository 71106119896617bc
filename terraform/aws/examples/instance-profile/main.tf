# routesync on self-managed control-plane instances: the role is assumed through the instance
# profile, and the module tags the cluster's existing route tables.
#
#   terraform init && terraform apply -var vpc_id=vpc-0123456789abcdef0 \
#     -var 'route_table_ids=["rtb-0123456789abcdef0","rtb-0fedcba9876543210"]'

terraform {
  required_version = ">= 1.3.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0, < 7.0"
    }
  }
}

provider "aws" {
  region = var.region
}

variable "region" {
  type        = string
  description = "AWS region of the cluster."
  default     = "eu-west-1"
}

variable "vpc_id" {
  type        = string
  description = "The cluster's VPC."
}

variable "route_table_ids" {
  type        = list(string)
  description = "The route tables of the cluster's subnets."
}

module "routesync" {
  source = "../.."

  vpc_id       = var.vpc_id
  cluster_name = "prod"
  # Only the nodes' ENIs may be route targets (routesync --node-tag).
  node_tags           = ["kubernetes.io/cluster/prod=owned"]
  role_name           = "routesync-prod"
  tag_route_table_ids = var.route_table_ids
  tags                = { "app.kubernetes.io/name" = "routesync" }
}

# Give the instance profile to the control-plane instances, e.g.
#   resource "aws_instance" "control_plane" { iam_instance_profile = module.routesync.instance_profile_name … }
# and keep IMDSv2 (http_tokens = "required"); routesync runs with hostNetwork, so a hop limit of 1 is enough.

output "instance_profile_name" {
  description = "Instance profile for the control-plane instances."
  value       = module.routesync.instance_profile_name
}

output "routesync_env" {
  description = "The ROUTESYNC_* settings for deploy/kubernetes/aws/configmap.yaml or the systemd environment file."
  value       = module.routesync.routesync_env
}
