//! Lint tests for the cloud provider kinds (azure_openai, bedrock, gemini, vertex): the
//! interface example, each key's rules, the Azure base_url path check and the credential
//! warnings, every finding asserted as the `FILE:LINE:COL` line `kt policy lint` prints.

use std::collections::BTreeMap;

use crate::config::{LintReport, ProviderKind, lint_str};

/// The product owner's interface example, comments included.
const EXAMPLE: &str = "\
providers:
  targets:
    - id: azure
      provider: azure_openai
      base_url: https://my-resource.openai.azure.com
      api_version: \"2024-10-21\"      # deployment-style path; omit (or \"v1\") for the v1 API
      deployments:                    # model -> deployment name
        gpt-4o-mini: prod-4o-mini
      secret_key_ref: {env: AZURE_OPENAI_API_KEY}     # sent as `api-key`
      # auth: {bearer_env: AZURE_OPENAI_AD_TOKEN}     # Entra ID token instead
    - id: bedrock
      provider: bedrock
      region: us-east-1
      # base_url: optional (VPC endpoint, FIPS host, or a local fake)
      # credentials: the standard AWS environment, or secret_key_ref
    - id: gemini
      provider: gemini                # Google AI Studio / Gemini API, x-goog-api-key
      secret_key_ref: {env: GEMINI_API_KEY}
    - id: vertex
      provider: vertex                # Vertex AI: Gemini models, and Claude models
      project: my-project
      location: us-central1           # or global
      # credentials: GOOGLE_APPLICATION_CREDENTIALS, or secret_key_ref
";

/// A file that exists, for `GOOGLE_APPLICATION_CREDENTIALS`.
const EXISTING_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml");

/// Every credential variable the tests name, set.
const ALL_SET: [(&str, &str); 7] = [
    ("AZURE_OPENAI_API_KEY", "azure-key"),
    ("AZURE_OPENAI_AD_TOKEN", "entra-token"),
    ("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE"),
    ("AWS_SECRET_ACCESS_KEY", "aws-secret-value"),
    ("GEMINI_API_KEY", "gemini-key"),
    ("GOOGLE_APPLICATION_CREDENTIALS", EXISTING_FILE),
    ("VERTEX_TOKEN", "ya29.token"),
];

fn lint_env(yaml: &str, env: &[(&str, &str)]) -> LintReport {
    let env: BTreeMap<String, String> = env
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    lint_str(yaml, "c.yaml", &|name| env.get(name).cloned()).unwrap()
}

/// Lints one target (indented under `providers.targets`, starting on line 3) with every
/// credential variable set.
fn lint_target(target: &str) -> LintReport {
    lint_env(&format!("providers:\n  targets:\n{target}"), &ALL_SET)
}

fn lines(r: &LintReport) -> Vec<String> {
    r.findings.iter().map(|f| f.render("c.yaml")).collect()
}

// Proves the interface example is valid, reaches the Target fields, and is summarised
// with its region, project and location.
#[test]
fn interface_example_is_valid() {
    let r = lint_env(EXAMPLE, &ALL_SET);
    assert!(r.findings.is_empty(), "{:#?}", lines(&r));
    let c = r.config.as_ref().unwrap();
    let azure = c.target("azure").unwrap();
    assert_eq!(azure.kind, ProviderKind::AzureOpenAi);
    assert_eq!(azure.base_url, "https://my-resource.openai.azure.com");
    assert_eq!(azure.api_version.as_deref(), Some("2024-10-21"));
    assert_eq!(
        azure.deployments,
        BTreeMap::from([("gpt-4o-mini".to_owned(), "prod-4o-mini".to_owned())])
    );
    assert_eq!(azure.key_env.as_deref(), Some("AZURE_OPENAI_API_KEY"));
    assert_eq!(azure.bearer_env, None);
    let bedrock = c.target("bedrock").unwrap();
    assert_eq!(bedrock.region.as_deref(), Some("us-east-1"));
    assert_eq!(bedrock.base_url, "", "derived from the region at call time");
    let gemini = c.target("gemini").unwrap();
    assert_eq!(gemini.base_url, crate::config::GEMINI_BASE_URL);
    let vertex = c.target("vertex").unwrap();
    assert_eq!(
        (vertex.project.as_deref(), vertex.location.as_deref()),
        (Some("my-project"), Some("us-central1"))
    );
    assert_eq!(vertex.base_url, "");
    assert_eq!(
        r.summary().unwrap(),
        "c.yaml is valid: 4 provider target(s) (azure: azure_openai at \
         https://my-resource.openai.azure.com, api-version 2024-10-21, 1 deployment(s), \
         bedrock: bedrock in us-east-1, gemini: gemini, vertex: vertex, project my-project in \
         us-central1); no policies; no traffic mirror: requests go to the first target, azure."
    );
}

// Proves the example with no credentials in the environment is still valid, with one
// warning per target naming what is missing and never a value.
#[test]
fn interface_example_without_credentials_only_warns() {
    let r = lint_env(EXAMPLE, &[]);
    assert!(r.is_valid());
    assert_eq!(
        lines(&r),
        [
            "c.yaml:9:29: warning: providers.targets[0].secret_key_ref.env: environment variable \
             AZURE_OPENAI_API_KEY is not set; requests to target azure will fail until it is",
            "c.yaml:11:7: warning: providers.targets[1].secret_key_ref: no credentials for bedrock \
             target bedrock: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set and there is \
             no secret_key_ref; requests will fail until they are set (or secret_key_ref names a \
             Bedrock API key variable such as AWS_BEARER_TOKEN_BEDROCK)",
            "c.yaml:18:29: warning: providers.targets[2].secret_key_ref.env: environment variable \
             GEMINI_API_KEY is not set; requests to target gemini will fail until it is",
            "c.yaml:19:7: warning: providers.targets[3].secret_key_ref: no credentials for vertex \
             target vertex: GOOGLE_APPLICATION_CREDENTIALS is not set and there is no \
             secret_key_ref; requests will fail until GOOGLE_APPLICATION_CREDENTIALS names a \
             service-account JSON file (or secret_key_ref names a variable holding an access token)",
        ]
    );
}

// Proves `v1`/absent select the v1 API, known shapes pass, odd ones warn, and the key is
// ignored (with a warning) on other kinds.
#[test]
fn api_version_forms() {
    let azure = |version: &str| {
        format!(
            "    - id: a\n      provider: azure_openai\n      base_url: https://r.openai.azure.com\n      \
             secret_key_ref: {{env: AZURE_OPENAI_API_KEY}}\n      api_version: {version}\n"
        )
    };
    for (given, want) in [
        ("v1", None),
        ("V1", None),
        ("2024-10-21", Some("2024-10-21")),
        ("'2025-04-01-preview'", Some("2025-04-01-preview")),
        ("latest", Some("latest")),
        ("preview", Some("preview")),
    ] {
        let r = lint_target(&azure(given));
        assert!(r.findings.is_empty(), "{given}: {:#?}", lines(&r));
        assert_eq!(r.config.unwrap().targets[0].api_version.as_deref(), want);
    }
    let r = lint_target(&azure("2024-13-01"));
    assert_eq!(
        lines(&r),
        [
            "c.yaml:7:20: warning: providers.targets[0].api_version: `2024-13-01` does not look \
          like an Azure OpenAI api-version: expected a date such as `2024-10-21` or \
          `2025-04-01-preview`, or `v1` (the default), `latest` or `preview`"
        ]
    );
    assert_eq!(
        r.config.unwrap().targets[0].api_version.as_deref(),
        Some("2024-13-01")
    );
    for odd in ["version2", "2024-10", "2024-10-21preview", "2024-10-21-"] {
        assert_eq!(lint_target(&azure(odd)).warnings(), 1, "{odd}");
    }
    let r = lint_target(&azure("''"));
    assert_eq!(
        lines(&r),
        ["c.yaml:7:20: error: providers.targets[0].api_version: must not be empty"]
    );
    let r = lint_target(&azure("20241021"));
    assert!(
        lines(&r)[0].ends_with("expected a string, found an integer"),
        "{:?}",
        lines(&r)
    );

    let r = lint_target("    - id: o\n      provider: openai\n      api_version: 2024-10-21\n");
    assert_eq!(
        lines(&r),
        [
            "c.yaml:5:7: warning: providers.targets[0].api_version: `api_version` is ignored: it \
          only applies to azure_openai targets"
        ]
    );
    assert_eq!(r.config.unwrap().targets[0].api_version, None);
}

// Proves `deployments` maps non-empty names to non-empty names, an empty mapping is fine,
// and each bad entry is reported at its own line.
#[test]
fn deployments_rules() {
    let head = "    - id: a\n      provider: azure_openai\n      base_url: https://r.openai.azure.com\n      \
                secret_key_ref: {env: AZURE_OPENAI_API_KEY}\n";
    let r = lint_target(&format!("{head}      deployments: {{}}\n"));
    assert!(r.findings.is_empty(), "{:#?}", lines(&r));
    assert!(r.config.unwrap().targets[0].deployments.is_empty());

    let r = lint_target(&format!(
        "{head}      deployments:\n        gpt-4o:\n        gpt-4.1: ''\n        '': x\n        \
         o3: [a]\n        o4-mini: prod/o4\n        gpt-4o: again\n"
    ));
    assert!(r.config.is_none());
    assert_eq!(
        lines(&r),
        [
            "c.yaml:8:9: error: providers.targets[0].deployments.gpt-4o: `gpt-4o` maps to nothing; give its deployment name",
            "c.yaml:9:18: error: providers.targets[0].deployments[\"gpt-4.1\"]: `gpt-4.1` maps to an empty deployment name",
            "c.yaml:10:9: error: providers.targets[0].deployments[\"\"]: model name must not be empty",
            "c.yaml:11:13: error: providers.targets[0].deployments.o3: expected a string (the deployment name), found a list",
            "c.yaml:12:18: error: providers.targets[0].deployments.o4-mini: deployment name `prod/o4` must not contain `/`, `?`, `#`, `%` or spaces: it becomes part of the URL path",
            "c.yaml:13:9: error: providers.targets[0].deployments.gpt-4o: duplicate key `gpt-4o` (first given on line 8)",
        ]
    );

    let r = lint_target(
        "    - id: g\n      provider: gemini\n      secret_key_ref: {env: GEMINI_API_KEY}\n      \
         deployments: {gemini-2.5-pro: x}\n",
    );
    assert_eq!(
        lines(&r),
        [
            "c.yaml:6:7: warning: providers.targets[0].deployments: `deployments` is ignored: it \
          only applies to azure_openai targets"
        ]
    );
    assert!(r.config.unwrap().targets[0].deployments.is_empty());
}

// Proves `auth.bearer_env` is read, checked as a variable name and for being set,
// unknown keys under it get a suggestion, and it cannot be combined with secret_key_ref.
#[test]
fn auth_bearer_env_rules() {
    let head =
        "    - id: a\n      provider: azure_openai\n      base_url: https://r.openai.azure.com\n";
    let r = lint_target(&format!(
        "{head}      auth: {{bearer_env: AZURE_OPENAI_AD_TOKEN}}\n"
    ));
    assert!(r.findings.is_empty(), "{:#?}", lines(&r));
    let t = &r.config.as_ref().unwrap().targets[0];
    assert_eq!(t.bearer_env.as_deref(), Some("AZURE_OPENAI_AD_TOKEN"));
    assert_eq!(t.key_env, None);
    assert!(r.summary().unwrap().contains("v1 API, Entra ID token"));

    let r = lint_env(
        &format!("providers:\n  targets:\n{head}      auth:\n        bearer_env: AD_TOKEN\n"),
        &[("AD_TOKEN", "")],
    );
    assert_eq!(
        lines(&r),
        [
            "c.yaml:7:21: warning: providers.targets[0].auth.bearer_env: environment variable \
          AD_TOKEN is empty; requests to target a will fail until it is set"
        ]
    );

    let r = lint_target(&format!(
        "{head}      auth: {{bearer_evn: AZURE_OPENAI_AD_TOKEN}}\n"
    ));
    assert_eq!(
        lines(&r),
        [
            "c.yaml:6:13: error: providers.targets[0].auth.bearer_env: missing required key `bearer_env`",
            "c.yaml:6:14: error: providers.targets[0].auth.bearer_evn: unknown key `bearer_evn` (did you mean `bearer_env`?)",
        ]
    );

    let r = lint_target(&format!("{head}      auth: {{bearer_env: 'eyJ0eXAi.x'}}\n"));
    assert_eq!(
        lines(&r),
        [
            "c.yaml:6:26: error: providers.targets[0].auth.bearer_env: `eyJ0eXAi.x` is not a valid \
          environment variable name (letters, digits and `_`, not starting with a digit); give \
          the variable's name, not the token"
        ]
    );

    let r = lint_target(&format!(
        "{head}      secret_key_ref: {{env: AZURE_OPENAI_API_KEY}}\n      auth: {{bearer_env: AZURE_OPENAI_AD_TOKEN}}\n"
    ));
    assert_eq!(
        lines(&r),
        [
            "c.yaml:7:7: error: providers.targets[0].auth: `auth.bearer_env` and `secret_key_ref` \
          are both given: choose one (an Entra ID token in auth.bearer_env, or an api-key in \
          secret_key_ref)"
        ]
    );

    let r = lint_target("    - id: o\n      provider: openai\n      auth: {bearer_env: TOKEN}\n");
    assert_eq!(
        lines(&r),
        [
            "c.yaml:5:7: warning: providers.targets[0].auth: `auth` is ignored: it only applies to \
          azure_openai targets"
        ]
    );
}

// Proves bedrock requires a region, warns on an odd one, refuses one that cannot be part
// of a host name, and a misspelt `regoin` suggests `region`.
#[test]
fn bedrock_region_rules() {
    let head = "    - id: b\n      provider: bedrock\n";
    let r = lint_target(head);
    assert_eq!(
        lines(&r),
        [
            "c.yaml:3:7: error: providers.targets[0].region: bedrock targets need `region` (the AWS \
          region requests are signed for, e.g. us-east-1)"
        ]
    );
    for ok in [
        "us-east-1",
        "us-gov-west-1",
        "ap-southeast-2",
        "eu-central-1",
    ] {
        let r = lint_target(&format!("{head}      region: {ok}\n"));
        assert!(r.findings.is_empty(), "{ok}: {:#?}", lines(&r));
        assert_eq!(r.config.unwrap().targets[0].region.as_deref(), Some(ok));
    }
    let r = lint_target(&format!("{head}      region: useast1\n"));
    assert_eq!(
        lines(&r),
        [
            "c.yaml:5:15: warning: providers.targets[0].region: `useast1` does not look like an AWS \
          region such as `us-east-1` or `eu-central-1`"
        ]
    );
    for odd in ["US-EAST-1", "us-east", "u-east-1", "us-east-1a"] {
        assert_eq!(
            lint_target(&format!("{head}      region: {odd}\n")).warnings(),
            1,
            "{odd}"
        );
    }
    let r = lint_target(&format!("{head}      region: us-east-1.evil.com\n"));
    assert_eq!(
        lines(&r),
        [
            "c.yaml:5:15: error: providers.targets[0].region: region `us-east-1.evil.com` must \
          contain only letters, digits and `-`: it becomes part of the host name"
        ]
    );
    let r = lint_target(&format!("{head}      regoin: us-east-1\n"));
    assert_eq!(
        r.findings[1].suggestion.as_deref(),
        Some("region"),
        "{:#?}",
        lines(&r)
    );

    let r = lint_target(&format!(
        "{head}      region: us-east-1\n      base_url: http://127.0.0.1:9/\n"
    ));
    assert!(r.findings.is_empty(), "{:#?}", lines(&r));
    assert_eq!(r.config.unwrap().targets[0].base_url, "http://127.0.0.1:9");
}

// Proves vertex requires project and location, suggests the region for a zone, warns on
// odd locations, and refuses a project that would change the URL path.
#[test]
fn vertex_project_and_location_rules() {
    let head = "    - id: v\n      provider: vertex\n      secret_key_ref: {env: VERTEX_TOKEN}\n";
    let r = lint_target(head);
    assert_eq!(
        lines(&r),
        [
            "c.yaml:3:7: error: providers.targets[0].project: vertex targets need `project` (the Google Cloud project id)",
            "c.yaml:3:7: error: providers.targets[0].location: vertex targets need `location` (a Vertex AI region such as us-central1, or global)",
        ]
    );
    for ok in [
        "global",
        "us-central1",
        "europe-west4",
        "northamerica-northeast1",
    ] {
        let r = lint_target(&format!("{head}      project: p-1\n      location: {ok}\n"));
        assert!(r.findings.is_empty(), "{ok}: {:#?}", lines(&r));
        assert_eq!(r.config.unwrap().targets[0].location.as_deref(), Some(ok));
    }
    let r = lint_target(&format!(
        "{head}      project: p-1\n      location: us-central1-a\n"
    ));
    assert_eq!(
        lines(&r),
        [
            "c.yaml:7:17: warning: providers.targets[0].location: `us-central1-a` is a zone; Vertex \
          AI takes its region, `us-central1`"
        ]
    );
    let r = lint_target(&format!("{head}      project: p-1\n      location: us\n"));
    assert_eq!(
        lines(&r),
        [
            "c.yaml:7:17: warning: providers.targets[0].location: `us` does not look like a Vertex \
          AI location such as `us-central1`, `europe-west4` or `global`"
        ]
    );
    let r = lint_target(&format!(
        "{head}      project: My Project\n      location: global\n"
    ));
    assert_eq!(
        lines(&r),
        [
            "c.yaml:6:16: error: providers.targets[0].project: project `My Project` must not \
          contain `/`, `?`, `#`, `%` or spaces: it becomes part of the URL path"
        ]
    );
}

// Proves region/project/location on the wrong kind are warned about (naming the right
// key) and left out of the Target.
#[test]
fn cloud_keys_on_the_wrong_kind_are_ignored() {
    let r = lint_target(
        "    - id: v\n      provider: vertex\n      secret_key_ref: {env: VERTEX_TOKEN}\n      \
         project: p\n      location: global\n      region: us-east-1\n    - id: b\n      \
         provider: bedrock\n      region: us-east-1\n      location: us-central1\n      \
         project: p\n",
    );
    assert_eq!(
        lines(&r),
        [
            "c.yaml:8:7: warning: providers.targets[0].region: `region` is ignored: it only applies to bedrock targets; vertex targets take `location`",
            "c.yaml:12:7: warning: providers.targets[1].location: `location` is ignored: it only applies to vertex targets; bedrock targets take `region`",
            "c.yaml:13:7: warning: providers.targets[1].project: `project` is ignored: it only applies to vertex targets",
        ]
    );
    let c = r.config.unwrap();
    assert_eq!(c.targets[0].region, None);
    assert_eq!(
        (
            c.targets[1].location.as_ref(),
            c.targets[1].project.as_ref()
        ),
        (None, None)
    );
}

// Proves an Azure base_url is required, and one that already holds `/openai/...`,
// `/deployments/...` or `?api-version=` is reported with the URL to use instead.
#[test]
fn azure_base_url_rules() {
    let head = "    - id: a\n      provider: azure_openai\n      secret_key_ref: {env: AZURE_OPENAI_API_KEY}\n";
    let r = lint_target(head);
    assert_eq!(
        lines(&r),
        [
            "c.yaml:3:7: error: providers.targets[0].base_url: azure_openai targets need `base_url` \
          (https://RESOURCE.openai.azure.com)"
        ]
    );
    let r = lint_target(&format!(
        "{head}      base_url: https://r.openai.azure.com/openai/v1\n"
    ));
    assert_eq!(
        lines(&r),
        [
            "c.yaml:6:17: warning: providers.targets[0].base_url: `https://r.openai.azure.com/openai/v1` \
          already contains the `/openai/...` path, which kt adds itself; set base_url to \
          `https://r.openai.azure.com`"
        ]
    );
    assert!(r.is_valid(), "only a warning: a proxy may really want it");
    let r = lint_target(&format!(
        "{head}      base_url: https://apim.example.com/team/openai/deployments/prod/chat/completions\n"
    ));
    assert!(
        lines(&r)[0].ends_with("set base_url to `https://apim.example.com/team`"),
        "{:?}",
        lines(&r)
    );
    let r = lint_target(&format!(
        "{head}      base_url: https://gw.example.com/deployments/prod\n"
    ));
    assert_eq!(
        lines(&r),
        [
            "c.yaml:6:17: warning: providers.targets[0].base_url: `https://gw.example.com/deployments/prod` \
          contains a `/deployments/...` path, which kt adds itself (map models to deployment \
          names under `deployments:`); set base_url to `https://gw.example.com`"
        ]
    );
    let r = lint_target(&format!(
        "{head}      base_url: https://r.openai.azure.com/?api-version=2024-10-21\n"
    ));
    assert!(
        lines(&r)[0].ends_with(
            "must not have a query (`?...`) or fragment (`#...`); put the version in `api_version`"
        ),
        "{:?}",
        lines(&r)
    );
    let r =
        lint_target("    - id: o\n      provider: openai\n      base_url: https://host/openai\n");
    assert!(
        r.findings.is_empty(),
        "other kinds may have any prefix: {:#?}",
        lines(&r)
    );
}

// Proves a Gemini base_url that already holds `/v1beta` (a trailing `/v1` is dropped as for
// every kind) or `/models/...`, or is the OpenAI-compatible endpoint, is reported with the URL
// to use, while the bare host and a proxy prefix (`/v1/ACCOUNT/GATEWAY/google-ai-studio`) pass.
#[test]
fn gemini_base_url_rules() {
    let target = |url: &str| {
        lint_target(&format!(
            "    - id: g\n      provider: gemini\n      secret_key_ref: {{env: GEMINI_API_KEY}}\n      base_url: {url}\n"
        ))
    };
    let r = target("https://generativelanguage.googleapis.com/v1beta");
    assert_eq!(
        lines(&r),
        ["c.yaml:6:17: warning: providers.targets[0].base_url: \
          `https://generativelanguage.googleapis.com/v1beta` already contains the `/v1beta/...` \
          path, which kt adds itself (`/v1beta/models/MODEL:generateContent`); set base_url to \
          `https://generativelanguage.googleapis.com`"]
    );
    assert!(r.is_valid(), "only a warning");
    let r = target("https://proxy.example.com/google/v1beta/models/");
    assert!(
        lines(&r)[0].ends_with("set base_url to `https://proxy.example.com/google`"),
        "{:?}",
        lines(&r)
    );
    let r = target("https://generativelanguage.googleapis.com/v1beta/openai/");
    assert_eq!(
        lines(&r),
        ["c.yaml:6:17: warning: providers.targets[0].base_url: \
          `https://generativelanguage.googleapis.com/v1beta/openai/` is Gemini's \
          OpenAI-compatible endpoint, which `provider: openai` speaks; for `provider: gemini` \
          set base_url to `https://generativelanguage.googleapis.com`"]
    );
    for fine in [
        "https://generativelanguage.googleapis.com",
        "https://generativelanguage.googleapis.com/v1",
        "https://gateway.ai.cloudflare.com/v1/acct/gw/google-ai-studio",
        "http://127.0.0.1:8080/",
    ] {
        let r = target(fine);
        assert!(r.findings.is_empty(), "{fine}: {:#?}", lines(&r));
    }
    let r = lint_target(
        "    - id: o\n      provider: openai\n      base_url: https://generativelanguage.googleapis.com/v1beta/openai\n",
    );
    assert!(r.findings.is_empty(), "{:#?}", lines(&r));
}

// Proves each cloud kind's credential warning: which variables are named, when a
// secret_key_ref or auth replaces them, and that values never appear.
#[test]
fn credential_warnings() {
    let bedrock =
        "providers:\n  targets:\n    - id: b\n      provider: bedrock\n      region: us-east-1\n";
    let r = lint_env(bedrock, &[("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")]);
    assert_eq!(
        lines(&r),
        [
            "c.yaml:3:7: warning: providers.targets[0].secret_key_ref: no credentials for bedrock \
          target b: AWS_SECRET_ACCESS_KEY is not set and there is no secret_key_ref; requests \
          will fail until it is set (or secret_key_ref names a Bedrock API key variable such as \
          AWS_BEARER_TOKEN_BEDROCK)"
        ]
    );
    assert!(!lines(&r)[0].contains("AKIDEXAMPLE"));
    let with_key = format!("{bedrock}      secret_key_ref: {{env: AWS_BEARER_TOKEN_BEDROCK}}\n");
    let r = lint_env(&with_key, &[("AWS_BEARER_TOKEN_BEDROCK", "k")]);
    assert!(
        r.findings.is_empty(),
        "a Bedrock API key needs no AWS keys: {:#?}",
        lines(&r)
    );

    let vertex = "providers:\n  targets:\n    - id: v\n      provider: vertex\n      project: p\n      location: global\n";
    let r = lint_env(
        vertex,
        &[("GOOGLE_APPLICATION_CREDENTIALS", "/nonexistent/sa.json")],
    );
    assert_eq!(
        lines(&r),
        [
            "c.yaml:3:7: warning: providers.targets[0].secret_key_ref: no credentials for vertex \
          target v: GOOGLE_APPLICATION_CREDENTIALS names `/nonexistent/sa.json`, which is not a \
          file and there is no secret_key_ref; requests will fail until \
          GOOGLE_APPLICATION_CREDENTIALS names a service-account JSON file (or secret_key_ref \
          names a variable holding an access token)"
        ]
    );
    let r = lint_env(vertex, &[("GOOGLE_APPLICATION_CREDENTIALS", EXISTING_FILE)]);
    assert!(r.findings.is_empty(), "{:#?}", lines(&r));

    let azure = "providers:\n  targets:\n    - id: a\n      provider: azure_openai\n      base_url: https://r.openai.azure.com\n";
    let r = lint_env(azure, &ALL_SET);
    assert_eq!(
        lines(&r),
        [
            "c.yaml:3:7: warning: providers.targets[0].secret_key_ref: no credentials for \
          azure_openai target a: give secret_key_ref (an api-key) or auth.bearer_env (an Entra ID \
          token); requests will fail without one"
        ]
    );

    let r = lint_env(
        "providers:\n  targets:\n    - id: g\n      provider: gemini\n",
        &ALL_SET,
    );
    assert_eq!(
        lines(&r),
        [
            "c.yaml:3:7: warning: providers.targets[0].secret_key_ref: gemini targets need an API \
          key: add secret_key_ref: {env: GEMINI_API_KEY}; requests to target g will fail without one"
        ]
    );
    assert!(r.is_valid());
}

// Proves no prefix of the example (or of a cloud config full of mistakes) panics, and
// `config` is Some exactly when there are no errors.
#[test]
fn every_prefix_is_handled() {
    let broken = "providers:\n  targets:\n    - {id: a, provider: azure_openai, base_url: \
                  'https://r/openai?api-version=1', auth: {bearer_env: 1x}, deployments: {'': x}}\n    \
                  - {id: b, provider: bedrock, region: 'a b', location: q, secret_key_ref: {env: K}}\n";
    for text in [EXAMPLE, broken] {
        for end in (0..=text.len()).filter(|i| text.is_char_boundary(*i)) {
            if let Ok(r) = lint_str(&text[..end], "p.yaml", &|_| None) {
                assert_eq!(
                    r.config.is_some(),
                    r.errors() == 0,
                    "prefix {end} of {text}"
                );
            }
        }
    }
}
