terraform {
  # lifecycle preconditions/postconditions need 1.2; 1.3 is the oldest release still tested here.
  required_version = ">= 1.3.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0, < 7.0"
    }
  }
}
