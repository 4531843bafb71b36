//! What is wrong with a release, as render finds it: render stops at the first problem (the
//! error's type is what the state machine matches, so it must stay the one render always
//! reported); a dry run (`stevedore plan`) collects every one.

use stevedore_core::Error;

/// Whether planning stops at the first problem or collects them all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Checking {
    /// Render: the first problem is the error.
    FirstProblem,
    /// A dry run: every problem is recorded and planning goes on where it can.
    EveryProblem,
}

/// The problems found so far.
#[derive(Debug)]
pub struct Problems {
    checking: Checking,
    found: Vec<Error>,
}

impl Problems {
    pub fn new(checking: Checking) -> Self {
        Self {
            checking,
            found: Vec::new(),
        }
    }

    /// Records `problem`, or answers it as the error when planning stops at the first one.
    /// A failure to reach AWS (throttling, an outage, a denied call) says nothing about the
    /// release: it is always the error. A problem already recorded is not recorded twice.
    pub fn add(&mut self, problem: Error) -> Result<(), Error> {
        if self.checking == Checking::FirstProblem || !is_about_the_release(&problem) {
            return Err(problem);
        }
        if !self.found.contains(&problem) {
            self.found.push(problem);
        }
        Ok(())
    }

    /// The value, or none when `result` is a problem that was recorded (see [`Self::add`]).
    pub fn check<T>(&mut self, result: Result<T, Error>) -> Result<Option<T>, Error> {
        match result {
            Ok(value) => Ok(Some(value)),
            Err(problem) => self.add(problem).map(|()| None),
        }
    }

    pub fn into_vec(self) -> Vec<Error> {
        self.found
    }
}

/// Whether the error is about the release (its config, its image, the services and
/// secrets it names) rather than about reaching AWS or holding the stage.
fn is_about_the_release(error: &Error) -> bool {
    !matches!(
        error,
        Error::Throttled(_)
            | Error::TransientAws(_)
            | Error::AwsError(_)
            | Error::LockHeld(_)
            | Error::LockLost(_)
            | Error::Superseded(_)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_stops_at_the_first_problem() {
        let mut problems = Problems::new(Checking::FirstProblem);
        let first = Error::SecretNotFound("db".into());
        assert_eq!(problems.add(first.clone()), Err(first));
        assert_eq!(problems.check(Ok::<_, Error>(3)), Ok(Some(3)));
    }

    #[test]
    fn a_dry_run_collects_each_problem_once_but_stops_at_an_aws_failure() {
        let mut problems = Problems::new(Checking::EveryProblem);
        let secret = Error::SecretNotFound("db".into());
        let container = Error::ContainerNotFound("api".into());
        assert_eq!(problems.add(secret.clone()), Ok(()));
        assert_eq!(problems.check::<u8>(Err(container.clone())), Ok(None));
        assert_eq!(problems.add(secret.clone()), Ok(()));
        let throttled = Error::Throttled("slow down".into());
        assert_eq!(problems.add(throttled.clone()), Err(throttled));
        assert_eq!(problems.into_vec(), vec![secret, container]);
    }
}
