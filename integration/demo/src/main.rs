//! FerroLB's whole-system demo.

fn main() -> anyhow::Result<()> {
    Ok(())
}
