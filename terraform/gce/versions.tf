terraform {
  # yamldecode and lifecycle conditions: 1.3 is the oldest release still tested here.
  required_version = ">= 1.3.0"

  required_providers {
    google = {
      source  = "hashicorp/google"
      version = ">= 5.0, < 8.0"
    }
  }
}
