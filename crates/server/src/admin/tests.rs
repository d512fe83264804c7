use super::*;

#[test]
fn durations_print_in_their_largest_exact_unit() {
    let second = 1_000_000_000;
    assert_eq!(format_duration(3 * 86_400 * second), "3d");
    assert_eq!(format_duration(36 * 3_600 * second), "36h");
    assert_eq!(format_duration(90 * 60 * second), "90m");
    assert_eq!(format_duration(45 * second), "45s");
    assert_eq!(format_duration(second / 2), "500ms");
    assert_eq!(format_duration(0), "0ms");
}
