terraform {
  required_providers {
    aws = { source = "hashicorp/aws" }
  }
}

variable "endpoint" { type = string }
variable "db_password" {
  type      = string
  sensitive = true
}
variable "team" {
  type    = string
  default = "payments"
}
variable "env" {
  type    = string
  default = "prod"
}

provider "aws" {
  region                      = "us-east-1"
  skip_credentials_validation = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
  skip_requesting_account_id  = false
  endpoints {
    ssm            = var.endpoint
    kms            = var.endpoint
    secretsmanager = var.endpoint
    iam            = var.endpoint
    sts            = var.endpoint
  }
}

data "aws_caller_identity" "me" {}

resource "aws_kms_key" "app" {
  description             = "app secrets"
  deletion_window_in_days = 7
  enable_key_rotation     = true
  tags                    = { env = var.env, team = var.team }
}

resource "aws_kms_alias" "app" {
  name          = "alias/app"
  target_key_id = aws_kms_key.app.key_id
}

data "aws_kms_key" "app" {
  key_id = aws_kms_alias.app.name
}

resource "aws_ssm_parameter" "db_host" {
  name  = "/app/${var.env}/db/host"
  type  = "String"
  value = "db.internal"
  tags  = { env = var.env }
}

resource "aws_ssm_parameter" "db_password" {
  name   = "/app/${var.env}/db/password"
  type   = "SecureString"
  value  = var.db_password
  key_id = aws_kms_key.app.arn
  tags   = { env = var.env }
}

data "aws_ssm_parameter" "db_password" {
  name       = aws_ssm_parameter.db_password.name
  depends_on = [aws_ssm_parameter.db_password]
}

data "aws_ssm_parameters_by_path" "db" {
  path       = "/app/${var.env}/db"
  depends_on = [aws_ssm_parameter.db_host, aws_ssm_parameter.db_password]
}

resource "aws_secretsmanager_secret" "api" {
  name                    = "app/${var.env}/api-key"
  description             = "third-party API key for ${var.team}"
  kms_key_id              = aws_kms_key.app.arn
  recovery_window_in_days = 0
  tags                    = { env = var.env }
}

resource "aws_secretsmanager_secret_version" "api" {
  secret_id     = aws_secretsmanager_secret.api.id
  secret_string = jsonencode({ key = var.db_password })
}

data "aws_secretsmanager_secret_version" "api" {
  secret_id  = aws_secretsmanager_secret.api.id
  depends_on = [aws_secretsmanager_secret_version.api]
}

data "aws_iam_policy_document" "read_api" {
  statement {
    effect    = "Allow"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = [aws_iam_role.app.arn]
    }
  }
}

resource "aws_secretsmanager_secret_policy" "api" {
  secret_arn = aws_secretsmanager_secret.api.arn
  policy     = data.aws_iam_policy_document.read_api.json
}

resource "aws_secretsmanager_secret_rotation" "api" {
  secret_id           = aws_secretsmanager_secret.api.id
  rotation_lambda_arn = "arn:aws:lambda:us-east-1:${data.aws_caller_identity.me.account_id}:function:rotate-api"
  rotate_immediately  = false
  rotation_rules {
    automatically_after_days = 30
  }
}

data "aws_iam_policy_document" "app_trust" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "AWS"
      identifiers = ["arn:aws:iam::${data.aws_caller_identity.me.account_id}:root"]
    }
  }
}

resource "aws_iam_role" "app" {
  name               = "app-${var.env}"
  path               = "/apps/"
  assume_role_policy = data.aws_iam_policy_document.app_trust.json
  tags               = { env = var.env, team = var.team }
}

data "aws_iam_policy_document" "read_params" {
  statement {
    actions   = ["ssm:GetParameter", "ssm:GetParametersByPath"]
    resources = ["arn:aws:ssm:us-east-1:${data.aws_caller_identity.me.account_id}:parameter/app/${var.env}/*"]
  }
  statement {
    actions   = ["kms:Decrypt"]
    resources = [aws_kms_key.app.arn]
  }
}

resource "aws_iam_policy" "read_params" {
  name   = "read-params-${var.env}"
  policy = data.aws_iam_policy_document.read_params.json
}

resource "aws_iam_role_policy_attachment" "app" {
  role       = aws_iam_role.app.name
  policy_arn = aws_iam_policy.read_params.arn
}

resource "aws_iam_role_policy" "app_inline" {
  name = "describe-secret"
  role = aws_iam_role.app.id
  policy = jsonencode({
    Version   = "2012-10-17"
    Statement = [{ Effect = "Allow", Action = "secretsmanager:DescribeSecret", Resource = "*" }]
  })
}

resource "aws_iam_openid_connect_provider" "github" {
  url             = "https://token.actions.githubusercontent.com"
  client_id_list  = ["sts.amazonaws.com"]
  thumbprint_list = ["6938fd4d98bab03faadb97b34396831e3780aea1"]
}

data "aws_iam_policy_document" "ci_trust" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [aws_iam_openid_connect_provider.github.arn]
    }
    condition {
      test     = "StringLike"
      variable = "token.actions.githubusercontent.com:sub"
      values   = ["repo:acme/app:*"]
    }
  }
}

resource "aws_iam_role" "ci" {
  name               = "ci-deploy"
  assume_role_policy = data.aws_iam_policy_document.ci_trust.json
}

resource "aws_iam_group" "ops" {
  name = "ops"
  path = "/teams/"
}

resource "aws_iam_user" "alice" {
  name = "alice"
  path = "/people/"
  tags = { team = var.team }
}

resource "aws_iam_access_key" "alice" {
  user = aws_iam_user.alice.name
}

output "account" { value = data.aws_caller_identity.me.account_id }
output "key_arn" { value = data.aws_kms_key.app.arn }
output "param_names" { value = data.aws_ssm_parameters_by_path.db.names }
output "password_matches" {
  value = nonsensitive(data.aws_ssm_parameter.db_password.value == var.db_password)
}
output "secret_matches" {
  value = nonsensitive(jsondecode(data.aws_secretsmanager_secret_version.api.secret_string).key == var.db_password)
}
output "access_key_id" { value = aws_iam_access_key.alice.id }
