//! Progress bars on stderr for the library's progress callbacks.
use deltarnn::data::{Progress, Task};
use indicatif::{ProgressBar, ProgressStyle};

/// Draws one bar per task; a new task finishes the previous bar.
#[derive(Default)]
pub struct Bars {
    current: Option<(Task, ProgressBar)>,
}

impl Bars {
    /// Handles one report.
    pub fn update(&mut self, progress: &Progress) {
        let same_task = matches!(&self.current, Some((task, _)) if *task == progress.task);
        if !same_task {
            self.finish();
            let bar = ProgressBar::new(progress.total as u64).with_style(
                ProgressStyle::with_template("{msg:>16} [{bar:30}] {pos}/{len} {elapsed_precise} eta {eta}")
                    .expect("valid template")
                    .progress_chars("=> "),
            );
            bar.set_message(progress.task.to_string());
            self.current = Some((progress.task, bar));
        }
        if let Some((_, bar)) = &self.current {
            bar.set_position(progress.done as u64);
        }
    }

    /// Finishes the current bar, leaving it on screen.
    pub fn finish(&mut self) {
        if let Some((_, bar)) = self.current.take() {
            bar.finish();
        }
    }
}

impl Drop for Bars {
    fn drop(&mut self) {
        self.finish();
    }
}
