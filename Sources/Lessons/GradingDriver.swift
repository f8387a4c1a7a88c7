/// The trusted Lua side of grading (Driver/grading-driver.lua), run in every grading state *before* any
/// learner code, in the real globals.
///
/// It captures a pristine copy of the globals (`P`): every global, and a
/// copy of every library table, taken while nothing untrusted has run. The
/// lesson file runs with `P` as its `_ENV`, so whatever a submission later
/// does to `_G` (redefining `kmalloc`, `print`, `tostring`, metatables on
/// `_G`, editing `string.format`) cannot reach the lesson's setup and check
/// functions. `restore()` puts the library tables back (a string method call
/// such as `s:rep(2)` goes through the one string metatable, which a
/// submission cannot replace but could edit the table behind).
///
/// The chunk returns the driver table `D`; Swift keeps it in the registry.
enum GradingDriver {
    /// `source` as bytes, made once (every grading state loads the driver).
    static let bytes = Array(source.utf8)

    /// The driver's Lua text: Sources/Lessons/Driver/grading-driver.lua,
    /// compiled in by the EmbedLuaFiles build-tool plugin.
    static let source = GradingDriverSource.source
}
