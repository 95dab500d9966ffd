import { RemovalPolicy, SecretValue, Validations } from "aws-cdk-lib";
import { Grant, type IGrantable } from "aws-cdk-lib/aws-iam";
import { type ISecret, Secret } from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";

export interface ServiceSecretProps {
  description: string;
  /**
   * The JSON fields the secret holds, each with the placeholder shown in the fill command.
   * A created secret starts with every field empty: the functions then fail naming the secret
   * and the command that fills it, instead of running with a generated value.
   */
  fields: Record<string, string>;
  /** The variables the fill command (`respondent-notifier secret fill`) shows, each with its placeholder. */
  fillVariables: Record<string, string>;
  /** Import this secret (its name or complete ARN) instead of creating one. */
  existing?: string | undefined;
}

/**
 * A JSON secret the functions read at run time by ARN (never through the environment or the
 * template). Created empty with a retain policy, or imported.
 */
export class ServiceSecret extends Construct {
  readonly secret: ISecret;
  /**
   * The command that fills the secret: `respondent-notifier secret fill`, which keeps the fields
   * it is not given and refuses to leave a required one empty (a raw put-secret-value would).
   */
  readonly fillCommand: string;
  private readonly policyArn: string;

  constructor(scope: Construct, id: string, props: ServiceSecretProps) {
    super(scope, id);

    this.secret = props.existing ? importSecret(this, props.existing) : createSecret(this, props);
    // A secret known by name is matched under whatever suffix Secrets Manager appended, no wider.
    this.policyArn = this.secret.secretFullArn ?? `${this.secret.secretArn}-??????`;

    this.fillCommand = [
      ...Object.entries(props.fillVariables).map(([variable, placeholder]) => `${variable}=${placeholder}`),
      "npx respondent-notifier secret fill",
      // The ARN names the region; `secret fill` reads the secret there.
      `--secret-id ${this.secret.secretArn}`,
    ].join(" ");
  }

  /** GetSecretValue only: the cached getter needs nothing else (no DescribeSecret, no list). */
  grantRead(grantee: IGrantable): Grant {
    return Grant.addToPrincipal({
      grantee,
      actions: ["secretsmanager:GetSecretValue"],
      resourceArns: [this.policyArn],
    });
  }
}

function importSecret(scope: Construct, existing: string): ISecret {
  return existing.startsWith("arn:")
    ? Secret.fromSecretCompleteArn(scope, "Secret", existing)
    : Secret.fromSecretNameV2(scope, "Secret", existing);
}

function createSecret(scope: Construct, props: ServiceSecretProps): ISecret {
  const empty = Object.fromEntries(Object.keys(props.fields).map((field) => [field, ""]));
  const secret = new Secret(scope, "Secret", {
    description: props.description,
    // CloudFormation cannot create a secret without a value; empty fields are not a credential.
    secretStringValue: SecretValue.unsafePlainText(JSON.stringify(empty)),
    removalPolicy: RemovalPolicy.RETAIN,
  });
  Validations.of(secret).acknowledge({
    id: "AwsSolutions-SMG4",
    reason:
      "The secret holds credentials issued by third parties (Respondent API key pair and webhook key, Slack bot token and signing secret) that a rotation Lambda cannot mint. They are rotated by issuing new ones and running `respondent-notifier secret fill` (stack output Step1FillSecret); the functions pick the new value up within the 5-minute secret cache.",
  });
  return secret;
}
