# routesync with IAM roles for service accounts (IRSA) on a self-managed cluster: only the
# Kubernetes service account kube-system/routesync (deploy/kubernetes) may assume the role; no
# instance profile. It needs an IAM OIDC provider for the cluster's service-account issuer, and
# the Amazon EKS Pod Identity Webhook (github.com/aws/amazon-eks-pod-identity-webhook) running in
# the cluster: the webhook injects the token file and AWS_ROLE_ARN that the annotation asks for.
# Not EKS: deploy/kubernetes runs routesync on control-plane nodes, and EKS has none to run pods on.
#
#   terraform init && terraform apply -var vpc_id=vpc-0123456789abcdef0 \
#     -var oidc_provider_arn=arn:aws:iam::111122223333:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLE

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
  description = "The cluster's VPC; its route tables must carry routesync.io/cluster/routesync=owned (or shared)."
}

variable "oidc_provider_arn" {
  type        = string
  description = "The cluster's IAM OIDC provider."
}

module "routesync" {
  source = "../.."

  vpc_id                    = var.vpc_id
  create_instance_profile   = false
  oidc_provider_arn         = var.oidc_provider_arn
  service_account_namespace = "kube-system"
  service_account_name      = "routesync"
  # Only the nodes' ENIs may be route targets (routesync --node-tag).
  node_tags = ["kubernetes.io/cluster/routesync=owned"]
}

output "role_arn" {
  description = "Put this in the eks.amazonaws.com/role-arn annotation of deploy/kubernetes/aws/serviceaccount-irsa.yaml."
  value       = module.routesync.role_arn
}
