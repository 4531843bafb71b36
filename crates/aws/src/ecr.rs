//! ECR: the images of a repository pushed in a time window, for the scheduled reconcile that
//! starts the releases whose push event never arrived; one image by tag or digest, for
//! `stevedore plan`.

use aws_sdk_ecr::types::{DescribeImagesFilter, ImageIdentifier, TagStatus};
use aws_sdk_ecr::Client;
use stevedore_core::Result;

use crate::error::classify;

/// One image, as DescribeImages reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedImage {
    pub digest: String,
    pub tags: Vec<String>,
    /// `imagePushedAt`, in epoch milliseconds.
    pub pushed_at_ms: i64,
}

/// One image of a repository, found by tag or digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundImage {
    pub digest: String,
    /// The account whose registry holds it.
    pub registry_id: String,
    pub tags: Vec<String>,
}

pub struct Ecr {
    client: Client,
}

impl Ecr {
    pub fn new(client: Client) -> Self {
        Self { client }
    }

    pub fn from_sdk(config: &aws_config::SdkConfig) -> Self {
        Self::new(Client::new(config))
    }

    /// The image of `repository` with tag `tag` (or digest `digest`); None when the
    /// repository has no such image. A repository that does not exist is `InvalidConfig`.
    pub async fn find_image(
        &self,
        repository: &str,
        tag: Option<&str>,
        digest: Option<&str>,
    ) -> Result<Option<FoundImage>> {
        let id = ImageIdentifier::builder()
            .set_image_tag(tag.map(str::to_string))
            .set_image_digest(digest.map(str::to_string))
            .build();
        let result = self
            .client
            .describe_images()
            .repository_name(repository)
            .image_ids(id)
            .send()
            .await;
        let page = match result {
            Ok(page) => page,
            Err(err) => {
                let service = err.as_service_error();
                if service.is_some_and(|e| e.is_image_not_found_exception()) {
                    return Ok(None);
                }
                if service.is_some_and(|e| e.is_repository_not_found_exception()) {
                    return Err(stevedore_core::Error::InvalidConfig(format!(
                        "ECR repository `{repository}` does not exist"
                    )));
                }
                return Err(classify("DescribeImages", err));
            }
        };
        Ok(page.image_details().first().and_then(|detail| {
            Some(FoundImage {
                digest: detail.image_digest()?.to_string(),
                registry_id: detail.registry_id().unwrap_or_default().to_string(),
                tags: detail.image_tags().to_vec(),
            })
        }))
    }

    /// The tagged images of `repository` pushed in `[from_ms, until_ms)`, every page read.
    /// A repository that does not exist has none.
    pub async fn images_pushed_between(
        &self,
        repository: &str,
        from_ms: i64,
        until_ms: i64,
    ) -> Result<Vec<PushedImage>> {
        let mut images = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let result = self
                .client
                .describe_images()
                .repository_name(repository)
                .filter(
                    DescribeImagesFilter::builder()
                        .tag_status(TagStatus::Tagged)
                        .build(),
                )
                .set_next_token(next.take())
                .send()
                .await;
            let page = match result {
                Ok(page) => page,
                Err(err)
                    if err
                        .as_service_error()
                        .is_some_and(|e| e.is_repository_not_found_exception()) =>
                {
                    tracing::warn!(%repository, "configured repository does not exist");
                    return Ok(images);
                }
                Err(err) => return Err(classify("DescribeImages", err)),
            };
            for detail in page.image_details() {
                let (Some(digest), Some(pushed)) =
                    (detail.image_digest(), detail.image_pushed_at())
                else {
                    continue;
                };
                let pushed_at_ms = pushed.to_millis().unwrap_or(0);
                if (from_ms..until_ms).contains(&pushed_at_ms) {
                    images.push(PushedImage {
                        digest: digest.to_string(),
                        tags: detail.image_tags().to_vec(),
                        pushed_at_ms,
                    });
                }
            }
            next = page.next_token().map(str::to_string);
            if next.is_none() {
                return Ok(images);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::mocked_client;
    use aws_sdk_ecr::operation::describe_images::DescribeImagesOutput;
    use aws_sdk_ecr::types::ImageDetail;
    use aws_smithy_mocks::mock;
    use aws_smithy_types::DateTime;

    fn image(digest: &str, tag: &str, pushed_secs: i64) -> ImageDetail {
        ImageDetail::builder()
            .image_digest(digest)
            .image_tags(tag)
            .image_pushed_at(DateTime::from_secs(pushed_secs))
            .build()
    }

    #[tokio::test]
    async fn pages_through_and_keeps_the_window() {
        let first = mock!(Client::describe_images)
            .match_requests(|r| r.next_token().is_none() && r.repository_name() == Some("web"))
            .then_output(|| {
                DescribeImagesOutput::builder()
                    .image_details(image("sha256:old", "v0", 100))
                    .image_details(image("sha256:in", "v1", 200))
                    .next_token("page-2")
                    .build()
            });
        let second = mock!(Client::describe_images)
            .match_requests(|r| r.next_token() == Some("page-2"))
            .then_output(|| {
                DescribeImagesOutput::builder()
                    .image_details(image("sha256:late", "v2", 250))
                    .image_details(image("sha256:new", "v3", 400))
                    .build()
            });
        let ecr = Ecr::new(mocked_client!(aws_sdk_ecr, [&first, &second]));
        let found = ecr
            .images_pushed_between("web", 150_000, 300_000)
            .await
            .expect("images");
        let digests: Vec<&str> = found.iter().map(|i| i.digest.as_str()).collect();
        assert_eq!(digests, ["sha256:in", "sha256:late"]);
        assert_eq!(found[0].tags, ["v1"]);
        assert_eq!(found[0].pushed_at_ms, 200_000);
    }

    #[tokio::test]
    async fn finds_one_image_by_tag_and_none_when_ecr_has_none() {
        let found = mock!(Client::describe_images)
            .match_requests(|r| {
                r.repository_name() == Some("web") && r.image_ids()[0].image_tag() == Some("v1")
            })
            .then_output(|| {
                DescribeImagesOutput::builder()
                    .image_details(
                        ImageDetail::builder()
                            .registry_id("123456789012")
                            .image_digest("sha256:in")
                            .image_tags("v1")
                            .build(),
                    )
                    .build()
            });
        let missing = mock!(Client::describe_images).then_error(|| {
            aws_sdk_ecr::operation::describe_images::DescribeImagesError::ImageNotFoundException(
                aws_sdk_ecr::types::error::ImageNotFoundException::builder().build(),
            )
        });
        let ecr = Ecr::new(mocked_client!(aws_sdk_ecr, [&found, &missing]));
        let image = ecr.find_image("web", Some("v1"), None).await.unwrap();
        assert_eq!(
            image,
            Some(FoundImage {
                digest: "sha256:in".into(),
                registry_id: "123456789012".into(),
                tags: vec!["v1".into()],
            })
        );
        assert_eq!(ecr.find_image("web", Some("v2"), None).await.unwrap(), None);
    }
}
