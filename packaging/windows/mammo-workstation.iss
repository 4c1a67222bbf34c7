; Inno Setup 6 script: a Windows installer for the PyInstaller build in dist\mammo-workstation.
; NOT BUILT OR RUN YET (written on Linux). Steps: docs/packaging.md, "Windows".
;
;   iscc /DAppVersion=0.1.0 packaging\windows\mammo-workstation.iss
;
; Silent install for IT (per machine, needs administrator rights):
;   mammo-workstation-0.1.0-windows-x64-setup.exe /VERYSILENT /SUPPRESSMSGBOXES /NORESTART
;       /SITECONFIG="\\server\share\site.toml" /LOG="C:\Windows\Temp\mammo-install.log"
; /SITECONFIG copies IT's settings to C:\ProgramData\mammo-workstation\site.toml, the
; platform's site folder that core/settings.py reads. The installer then runs the program's
; self-test; its report is kept in {app}\install-self-test.log and a failure is in the /LOG.

#ifndef AppVersion
  #define AppVersion "0.1.0"
#endif
#define AppName "Mammo Workstation"
#define AppExe "mammo-workstation.exe"
#define ConsoleExe "mammo-workstation-console.exe"

[Setup]
; Keep this AppId for every version: it is how an update finds the installed program.
AppId={{6E0B8A3C-52A4-4F0E-9D55-2D8A3C1F7B42}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=Mammo Workstation project
AppComments=Research use only. Not a certified medical device; not for diagnosis.
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
PrivilegesRequired=admin
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
SourceDir=..\..
OutputDir=dist
OutputBaseFilename=mammo-workstation-{#AppVersion}-windows-x64-setup
SetupIconFile=resources\icons\mammo-workstation.ico
UninstallDisplayIcon={app}\{#AppExe}
Compression=lzma2
SolidCompression=yes
WizardStyle=modern
CloseApplications=yes
RestartApplications=no

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[InstallDelete]
; An update replaces the whole program folder (a stale library from an older build would load).
Type: filesandordirs; Name: "{app}\_internal"

[Files]
Source: "dist\mammo-workstation\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#AppExe}"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent

[UninstallDelete]
Type: files; Name: "{app}\install-self-test.log"
; Users' data (%LOCALAPPDATA%\mammo-workstation) and C:\ProgramData\mammo-workstation are kept.

[Code]
procedure CopySiteConfig();
var
  Source, Target: String;
begin
  Source := ExpandConstant('{param:SITECONFIG|}');
  if Source = '' then
    exit;
  Target := ExpandConstant('{commonappdata}\mammo-workstation\site.toml');
  ForceDirectories(ExtractFileDir(Target));
  if FileCopy(Source, Target, False) then
    Log('Site configuration copied from ' + Source + ' to ' + Target)
  else
    RaiseException('Could not copy the site configuration ' + Source + ' to ' + Target);
end;

procedure RunSelfTest();
var
  Command: String;
  ResultCode: Integer;
begin
  { A scratch data directory: the administrator's own profile gets no store. }
  Command := '/C set "MAMMO_DATA_DIR=' + ExpandConstant('{tmp}') + '\self-test-data" && "'
    + ExpandConstant('{app}\{#ConsoleExe}') + '" --self-test > "'
    + ExpandConstant('{app}\install-self-test.log') + '" 2>&1';
  if Exec(ExpandConstant('{cmd}'), Command, '', SW_HIDE, ewWaitUntilTerminated, ResultCode)
     and (ResultCode = 0) then
    Log('Self-test passed; report in ' + ExpandConstant('{app}\install-self-test.log'))
  else begin
    Log('SELF-TEST FAILED (exit code ' + IntToStr(ResultCode) + '); see '
      + ExpandConstant('{app}\install-self-test.log'));
    SuppressibleMsgBox('Mammo Workstation was installed, but its self-test failed. See '
      + ExpandConstant('{app}\install-self-test.log') + '.', mbError, MB_OK, IDOK);
  end;
end;

procedure CurStepChanged(CurStep: TSetupStep);
begin
  if CurStep = ssPostInstall then begin
    CopySiteConfig();
    RunSelfTest();
  end;
end;
